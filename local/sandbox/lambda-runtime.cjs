/*
 * One Lambda execution environment (a worker thread): loads the function's handler from its code
 * folder the way the Node.js runtime does (`<file>.<export>` under LAMBDA_TASK_ROOT, CommonJS or ES
 * module), then runs one invocation per message. Plain CommonJS so that it loads without a compiler.
 */
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

let handler;

// The Node.js runtimes provide the AWS SDK for JavaScript v3 outside the function's code, on NODE_PATH
// (/var/runtime/node_modules); a worker inherits the sandbox's module paths, so they are read again here.
require('node:module')._initPaths();
// Environments start often (each function, each recycle): V8's compile cache spares them recompiling
// the same SDK modules every time. (Node 22.1+; a sandbox speed-up, invisible to the function.)
require('node:module').enableCompileCache?.(require('node:path').join(require('node:os').tmpdir(), 'sandbox-lambda-compile-cache'));

async function load() {
  const spec = process.env._HANDLER || '';
  const dot = spec.lastIndexOf('.');
  if (dot <= 0) throw named('Runtime.MalformedHandlerName', `Bad handler ${spec}: missing module part`);
  const modulePath = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const base = join(process.env.LAMBDA_TASK_ROOT, modulePath);
  const file = ['.js', '.cjs', '.mjs'].map((ext) => base + ext).find((f) => existsSync(f));
  if (!file) throw named('Runtime.ImportModuleError', `Error: Cannot find module '${modulePath}'`);
  let mod;
  try {
    mod = file.endsWith('.cjs') || (file.endsWith('.js') && !workerData.esm) ? require(file) : await import(pathToFileURL(file).href);
  } catch (e) {
    throw named('Runtime.ImportModuleError', `${e?.name}: ${e?.message}`);
  }
  const fn = mod[exportName] ?? mod.default?.[exportName];
  if (typeof fn !== 'function') throw named('Runtime.HandlerNotFound', `${modulePath}.${exportName} is undefined or not exported`);
  return fn;
}

function named(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}

parentPort.on('message', async ({ requestId, payload, deadline, traceId }) => {
  process.env._X_AMZN_TRACE_ID = traceId;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: workerData.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    handler ??= await load();
    const result = await handler(JSON.parse(payload), context);
    parentPort.postMessage({ requestId, payload: JSON.stringify(result === undefined ? null : result) });
  } catch (e) {
    const error =
      e instanceof Error
        ? { errorType: e.name || 'Error', errorMessage: e.message, trace: String(e.stack || '').split('\n') }
        : { errorType: typeof e, errorMessage: JSON.stringify(e) ?? String(e), trace: [] };
    console.error(`${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(error)}`);
    parentPort.postMessage({ requestId, error });
  }
});
