/**
 * aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22+) in every Task state; on Node 20
 * every Task would fail with a catchable TypeError (toolchain notes §1). Import this first.
 */
const P = Promise as unknown as { withResolvers?: unknown };
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = <T>() => {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
export {};
