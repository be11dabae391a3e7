/**
 * The console in a real browser (Debian's Chromium, driven by playwright-core), on a sandbox with the stack
 * deployed and the demo account: an onboarding started from the console reaches Succeeded and a state's
 * output opens; a failing one shows its rollback path and the failing state's error; a request event shows
 * the rule it matched and the execution it started; a key's policy shows who each statement names.
 * Screenshots go to test-output/console/. The page must log no console errors.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { consoleMounts, consoleUrl } from '../local/console/server';
import { startSandbox, type RunningSandbox } from '../local/sandbox/server';
import { seedAccount } from '../local/seed';
import { cachedAssembly, deployStack } from '../local/stack';

const SHOTS = path.resolve(__dirname, '..', 'test-output', 'console');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

let sb: RunningSandbox;
let outputs: Record<string, string>;
let context: BrowserContext;
let page: Page;
let profile: string;
const consoleErrors: string[] = [];

/** A screenshot of the view, which must fit 1280 px wide (no horizontal scrolling). */
const shot = async (name: string, fullPage = true) => {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
};
const open = async (hash: string) => {
  await page.goto(`${consoleUrl(sb.endpoint)}${hash}`);
};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  sb = await startSandbox({ port: 0, mounts: consoleMounts, stepFunctions: { timeScale: 0 } });
  outputs = (await deployStack(sb.sandbox, { assemblyDir: await cachedAssembly() })).outputs;
  await seedAccount(sb.clientConfig(), sb.sandbox.account, 'demo');
  profile = mkdtempSync(path.join(tmpdir(), 'console-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
});

afterAll(async () => {
  await context?.close();
  await sb?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

afterEach(() => {
  // Every view must run without a browser console error (a refused AWS call would log one).
  expect(consoleErrors).toEqual([]);
});

describe('the local console', () => {
  it('starts an onboarding from the console, watches it reach Succeeded, shows its retries and opens a state output', async () => {
    await open(`#/machine/${encodeURIComponent(outputs.StateMachineArn)}`);
    await page.getByRole('button', { name: 'existing-application.json' }).click();
    await expect(page.locator('#input-problem').textContent()).resolves.toContain('valid onboard-application input');
    await page.locator('svg.graph [data-state="VerifyEncryption"]').waitFor();
    await shot('state-machine');
    // KMS throttles CreateKey twice: the state's Retry takes it, and the console shows the retries.
    await fetch(`${sb.endpoint}/_sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify({ service: 'kms', operation: 'CreateKey', error: 'ThrottlingException', message: 'Rate exceeded', status: 400, times: 2 }),
    });
    await page.getByRole('button', { name: 'Start execution' }).click();
    await page.locator('h1 .badge.status-succeeded').waitFor({ timeout: 90_000 });
    await page.getByRole('button', { name: 'CreateKey', exact: true }).click();
    expect(await page.locator('.state-panel .retries').textContent()).toContain('retries');
    await page.locator('.state-panel details', { hasText: 'Retried attempts' }).locator('summary').click();
    expect(await page.locator('.state-panel details', { hasText: 'Retried attempts' }).textContent()).toContain('ThrottlingException');
    // The keyboard reaches a state: focus it in the graph, Enter selects it.
    const node = page.locator('svg.graph [data-state="VerifyEncryption"]');
    await node.focus();
    await page.keyboard.press('Enter');
    await page.locator('.state-panel h2', { hasText: 'State VerifyEncryption' }).waitFor();
    await page.locator('.state-panel details.state-output summary').click();
    const output = await page.locator('.state-panel details.state-output pre').textContent();
    expect(output).toContain('CUSTOMER_MANAGED_KEY');
    await expect(page.locator('svg.graph .state.status-succeeded').count()).resolves.toBeGreaterThan(10);
    await shot('execution-succeeded');
  });

  it('validates the input as ValidateInput does, before starting anything', async () => {
    await open(`#/machine/${encodeURIComponent(outputs.StateMachineArn)}`);
    await page.locator('svg.graph').waitFor();
    await page.locator('#input-editor').fill('{"applicationName": "orders", "colour": "blue"}');
    await expect(page.locator('#input-problem').textContent()).resolves.toBe('InvalidInput: colour: is not a known field');
    await expect(page.getByRole('button', { name: 'Start execution' }).isDisabled()).resolves.toBe(true);
  });

  it('starts an onboarding that fails and shows the rollback path and the failing state error', async () => {
    // Managed Flink refuses the switch: the run has written its role, key and grant, so its rollback undoes them.
    await fetch(`${sb.endpoint}/_sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify({
        service: 'kinesisanalytics',
        operation: 'UpdateApplication',
        error: 'InvalidArgumentException',
        message: 'Injected by the console test',
        status: 400,
      }),
    });
    await open(`#/machine/${encodeURIComponent(outputs.StateMachineArn)}`);
    await page.locator('svg.graph').waitFor();
    await page.locator('#input-editor').fill('{"applicationName": "orders"}');
    await page.locator('#execution-name').fill('orders-fails');
    await page.getByRole('button', { name: 'Start execution' }).click();
    await page.locator('h1 .badge.status-failed').waitFor({ timeout: 90_000 });
    await fetch(`${sb.endpoint}/_sandbox/faults`, { method: 'DELETE' });
    await page.locator('.rollback-note').waitFor();
    expect(await page.locator('.rollback-note').textContent()).toContain('SwitchApplicationToCmk failed with InvalidArgumentException');
    await expect(page.locator('svg.graph .edge.rollback').count()).resolves.toBeGreaterThan(0);
    await expect(page.locator('svg.graph [data-state="SwitchApplicationToCmk"]').getAttribute('class')).resolves.toContain('status-caught');
    // The failing state is selected by itself, with its error.
    await page.locator('.state-panel h2', { hasText: 'State SwitchApplicationToCmk' }).waitFor();
    expect(await page.locator('.state-panel .error-box').first().textContent()).toContain('InvalidArgumentException');
    await shot('execution-rolled-back');
    // The whole graph at once: fit to the box's width.
    await page.getByRole('button', { name: 'Fit to width' }).click();
    const [svgBox, box] = await Promise.all([page.locator('svg.graph').boundingBox(), page.locator('.graph-box').boundingBox()]);
    expect(svgBox!.width).toBeLessThanOrEqual(box!.width);
    await shot('execution-rolled-back-fit', false);
    // Its calls: the operator's refused UpdateApplication, with the message the caller got.
    await page.getByRole('link', { name: 'its AWS calls' }).click();
    await page.locator('table.calls td', { hasText: 'Injected by the console test' }).first().waitFor();
    await shot('calls', false);
  });

  it('lists executions, filtered by status, reached by the keyboard', async () => {
    await open('#/machines');
    await page.locator('table a').first().waitFor();
    // The header's section links, in order: Tab from the first reaches the second.
    await page.getByRole('link', { name: 'State machines' }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Executions');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/executions$/);
    await page.getByRole('link', { name: /^FAILED \d+/ }).click();
    await page.locator('table a', { hasText: 'orders-fails' }).waitFor();
    await expect(page.locator('table .badge:not(.status-failed)').count()).resolves.toBe(0);
    await shot('executions');
  });

  it('shows a plan (mode "plan") as its change list', async () => {
    await open(`#/machine/${encodeURIComponent(outputs.StateMachineArn)}`);
    await page.locator('svg.graph').waitFor();
    await page.locator('#input-editor').fill('{"applicationName": "orders"}');
    await page.getByRole('button', { name: 'Toggle plan mode' }).click();
    expect(JSON.parse(await page.locator('#input-editor').inputValue())).toEqual({ applicationName: 'orders', mode: 'plan' });
    await page.getByRole('button', { name: 'Start execution' }).click();
    await page.locator('h1 .badge.status-succeeded').waitFor({ timeout: 90_000 });
    const plan = page.locator('.plan table');
    await plan.waitFor();
    expect(await plan.textContent()).toContain('kms:CreateKey');
    expect(await plan.textContent()).toContain('kinesisanalytics:UpdateApplication');
    await shot('plan');
  });

  it('stops a running execution; its open state shows aborted', async () => {
    // A slow Managed Flink keeps the run in DecideEnsureApplication long enough to press Stop.
    const latency = (ms: number) =>
      fetch(`${sb.endpoint}/_sandbox/latency`, { method: 'POST', body: JSON.stringify({ service: 'kinesisanalytics', operation: 'DescribeApplication', ms }) });
    await latency(6000);
    try {
      await open(`#/machine/${encodeURIComponent(outputs.StateMachineArn)}`);
      await page.locator('svg.graph').waitFor();
      await page.locator('#input-editor').fill('{"applicationName": "legacy", "mode": "plan"}');
      await page.getByRole('button', { name: 'Start execution' }).click();
      await page.locator('svg.graph .state.status-running').first().waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Stop execution' }).click();
      await page.locator('h1 .badge.status-aborted').waitFor({ timeout: 30_000 });
      await page.locator('svg.graph .state.status-aborted').first().waitFor();
      await shot('execution-stopped');
    } finally {
      await latency(0);
    }
  });

  it('draws every deployed state machine, a Map state as a box holding its inner states', async () => {
    await open('#/machines');
    const links = page.locator('table a[href^="#/machine/"]');
    await links.first().waitFor();
    const hrefs = await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
    expect(hrefs.length).toBe(8);
    for (const href of hrefs) {
      await open(href);
      await page.locator('svg.graph .state').first().waitFor();
    }
    await open(`#/machine/${encodeURIComponent(outputs.AuditStateMachineArn)}`);
    const map = page.locator('svg.graph .state.container[data-state="AuditEach"]');
    await map.waitFor();
    await expect(map.locator('[data-state="AuditApplication"]').count()).resolves.toBe(1);
    await shot('map-state');
  });

  it('puts a request event and shows the rule it matched and the execution it started', async () => {
    await open('#/events');
    await page.getByRole('button', { name: 'entries/onboard-application-requested' }).click();
    await page.getByRole('button', { name: 'Put events' }).click();
    await page.locator('#event-results .rules .matched').first().waitFor();
    const started = page.locator('#event-results a[href^="#/execution/"]').first();
    await started.waitFor({ timeout: 30_000 });
    // A CloudTrail sample: PutEvents refuses an aws.* source, as AWS does, and the console says so.
    await page.getByRole('button', { name: 'cloudtrail-create-application-by-user', exact: true }).click();
    await page.getByRole('button', { name: 'Put events' }).click();
    await page.locator('#event-results .card .error', { hasText: 'NotAuthorizedForSourceException' }).waitFor();
    await shot('events');
    await started.click();
    await page.locator('h1 .badge').waitFor();
    await page.locator('svg.graph [data-state="ValidateInput"]').waitFor();
  });

  it("opens a key's policy, showing which principals each statement names, and a role's policies and boundary", async () => {
    await open('#/account');
    const key = page.locator('details.key', { hasText: 'alias/msf-cmk/clickstream' });
    await key.locator('summary').first().click();
    const policy = key.locator('.policy table');
    await policy.waitFor();
    expect(await policy.textContent()).toContain(`arn:aws:iam::${sb.sandbox.account}:role/MsfCmkKeyAdmin`);
    expect(await policy.textContent()).toContain('kinesisanalytics.amazonaws.com');
    // A role's policies and boundary are read when it is opened.
    const operator = page.locator('details.role[data-role="msf-cmk-operator-clickstream"]');
    await operator.locator('summary').first().click();
    await operator.locator('h3', { hasText: 'Permissions boundary' }).waitFor();
    expect(await operator.textContent()).toContain('Inline policy msf-cmk-base');
    await shot('account');
  });
});
