// The UI in a real browser: Debian's Chromium, headless, driven by
// playwright-core (which downloads no browser), against the real phobos,
// agent and executor that api/tests/ui_browser.rs starts. Every host but
// 127.0.0.1 is unresolvable, and every request is checked to go to the
// server's own origin.
//
//   PHOBOS_URL, PHOBOS_EMAIL, PHOBOS_PASSWORD, PHOBOS_ORG, PHOBOS_PROJECT,
//   HELLO_HCL (a file), ISSUER_URL (the test OIDC issuer, whose sign-in
//   pages are the only other origin a page may visit), MANUAL_PIPELINE (the
//   id of a pipeline whose node stage.s.task.m waits for a manual start),
//   SUPPORT_URL (the server's PHOBOS_SUPPORT_URL), SCREENSHOTS (a
//   directory, optional)
//
// Exits 0 when every step held; otherwise prints the step that failed.
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("PHOBOS_URL");
const host = new URL(base).host;
const org = env("PHOBOS_ORG");
const project = env("PHOBOS_PROJECT");
const hello = readFileSync(env("HELLO_HCL"), "utf8");
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });

/** Serious or critical accessibility violations on the page as it is now (axe-core). */
const axeFindings = [];
async function axe(page, what) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  for (const v of violations.filter((v) => v.impact === "serious" || v.impact === "critical"))
    axeFindings.push(
      `${what}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes
        .map((n) => n.target.join(" "))
        .slice(0, 3)
        .join(", ")}`,
    );
}

let step = "launching Chromium";
const issuerHost = new URL(env("ISSUER_URL")).host;

/** A new browser context signed in as `name` through the OIDC issuer's page, landing at `at`. */
async function oidcUser(name, at) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const p = await ctx.newPage();
  p.setDefaultTimeout(30_000);
  p.on("request", (r) => {
    const url = new URL(r.url());
    if (url.protocol === "data:" || url.protocol === "blob:" || url.host === host) return;
    // The provider's own sign-in page, and nothing else of it.
    if (url.host === issuerHost && r.isNavigationRequest() && url.pathname.startsWith("/authorize")) return;
    foreign.push(`${name}: ${r.url()}`);
  });
  p.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
  p.on("response", (r) => r.status() >= 400 && problems.push(`${name}: ${r.status()} from ${r.url()}`));
  p.on("console", (m) => ["error", "warning"].includes(m.type()) && problems.push(`${name}: console: ${m.text()}`));
  await p.goto(at);
  await p.getByRole("button", { name: /^Sign in with / }).click();
  await p.getByLabel("Username").fill(name);
  await p.getByRole("button", { name: "Sign in", exact: true }).click();
  await p.getByRole("button", { name: "Sign out" }).waitFor();
  if (p.url() !== at) throw new Error(`${name} landed on ${p.url()}, not ${at}`);
  if (!(await p.locator("header").innerText()).includes(name)) throw new Error(`the header does not name ${name}`);
  return p;
}

/** Fails if `p` offers any action a Viewer may not take. */
async function noActions(p, where) {
  const offered = await p
    .getByRole("button", {
      name: /^(Start|Cancel|Force cancel|Retry|Approve|Reject|Revoke|Deploy|New release|Edit)\b/,
    })
    .all();
  if (offered.length)
    throw new Error(
      `a Viewer is offered ${(await Promise.all(offered.map((b) => b.innerText()))).join(", ")} on ${where}`,
    );
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const foreign = [];
const problems = [];
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.protocol !== "data:" && url.protocol !== "blob:" && url.host !== host) foreign.push(r.url());
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // Errors and warnings (React's, xyflow's) are failures too.
  page.on("console", (m) => ["error", "warning"].includes(m.type()) && problems.push(`console: ${m.text()}`));
  const frames = [];
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => frames.push(`> ${String(f.payload).slice(0, 160)}`));
    ws.on("framereceived", (f) => frames.push(`< ${String(f.payload).slice(0, 100)}`));
    ws.on("close", () => frames.push("closed"));
  });
  globalThis.frames_ = frames;
  let loads = 0;
  page.on("load", () => loads++);
  const shot = async (name) => shots && page.screenshot({ path: join(shots, `${name}.png`) });

  step = "opening a deep link signed out shows the sign-in form";
  await page.goto(`${base}/organizations/${org}/projects/${project}`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await axe(page, "sign-in");

  step = "signing in with the built-in identity provider";
  await page.getByLabel("Email").fill(env("PHOBOS_EMAIL"));
  await page.getByLabel("Password").fill(env("PHOBOS_PASSWORD"));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("heading", { name: project, level: 2 }).waitFor();

  step = "the support link is PHOBOS_SUPPORT_URL";
  const support = await page.getByRole("link", { name: "Support" }).getAttribute("href");
  if (support !== env("SUPPORT_URL")) throw new Error(`the support link goes to ${support}`);

  step = "a template with an error shows the problem at its line and column";
  await page.getByRole("button", { name: "New template" }).click();
  await page.getByLabel("Name").fill("hello");
  const bad = 'stage "s" {\n  task "t" {\n    action "exec_command" { command = var.nope }\n  }\n}\n';
  await page.getByLabel("HCL").fill(bad);
  await page.locator("#template-problems").getByText("(3:43)").waitFor();
  await shot("template-problem");
  await axe(page, "template editor");

  step = "the fixed template checks clean and is created";
  await page.getByLabel("HCL").fill(hello);
  await page.getByText("No problems found.").waitFor();
  await page.getByRole("button", { name: "Create" }).click();
  const run = (template) => page.locator(".cards li", { hasText: template }).getByRole("button", { name: "Run" });
  await run("hello").waitFor();

  step = "running the hello pipeline opens its page";
  await run("hello").click();
  await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
  const nodes = page.locator(".graph .node");
  await nodes.first().waitFor();
  if ((await nodes.count()) !== 5) throw new Error(`the graph shows ${await nodes.count()} nodes, not 5`);
  step = "the dependency is drawn as an edge";
  // (A level edge has no height, which Playwright calls hidden: attached is enough.)
  await page.locator(".react-flow__edge path").first().waitFor({ state: "attached", timeout: 15_000 });

  step = "a running task's log arrives while it runs";
  await page.locator('.node[data-path="stage.build.task.compile"]').click();
  await page.getByRole("heading", { name: /compile/ }).waitFor();
  await page.locator(".log").getByText("compiling...", { exact: true }).waitFor();
  await page.locator(".log").getByText("compiled", { exact: true }).waitFor();

  step = "every node turns green with no reload";
  await page.waitForFunction(
    () => [...document.querySelectorAll(".graph .node")].every((n) => n.getAttribute("data-status") === "SUCCEEDED"),
    null,
    { timeout: 90_000 },
  );
  await page.locator("#pipeline-title").getByText("Succeeded").waitFor();
  // A finished pipeline offers no Cancel (an answer to an earlier status
  // once arrived last and kept it).
  await page.getByRole("button", { name: "Cancel pipeline" }).waitFor({ state: "detached", timeout: 10_000 });
  if (loads !== 1) throw new Error(`the page loaded ${loads} times`);
  await shot("pipeline-node-log");
  await axe(page, "pipeline with a node's log");
  const deep = page.url();

  step = "the pipeline's timeline says who did what, and when";
  await page.getByRole("button", { name: "Timeline" }).click();
  if (!page.url().includes("view=timeline")) throw new Error(`the URL does not name the timeline: ${page.url()}`);
  const timeline = page.locator(".timeline tbody tr");
  await timeline.filter({ hasText: "pipeline created" }).filter({ hasText: "user:" }).first().waitFor();
  await timeline
    .filter({ hasText: "node succeeded" })
    .filter({ hasText: "stage.build.task.compile" })
    .first()
    .waitFor();
  await timeline.filter({ hasText: "job claimed" }).filter({ hasText: "agent:" }).first().waitFor();
  await axe(page, "pipeline timeline");
  step = "a node in the timeline opens its panel";
  await timeline
    .filter({ hasText: "node succeeded" })
    .getByRole("button", { name: "stage.build.task.compile" })
    .first()
    .click();
  await page.getByRole("heading", { name: /compile/ }).waitFor();

  step = "a failed node is retried from its panel, and both attempts' logs stay readable";
  await page.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link", { name: project }).click();
  await run("flaky").click();
  await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
  const flaky = page.locator('.node[data-path="stage.s.task.flaky"]');
  await page.waitForFunction(
    () => document.querySelector('.node[data-path="stage.s.task.flaky"]')?.getAttribute("data-status") === "FAILED",
    null,
    { timeout: 60_000 },
  );
  await flaky.click();
  await page.locator(".log").getByText("first try", { exact: true }).waitFor();
  await page.locator(".actions").getByRole("button", { name: "Retry" }).click();
  await page.getByRole("dialog", { name: "Confirm retry" }).getByRole("button", { name: "Retry" }).click();
  await page.locator("#pipeline-title").getByText("Succeeded").waitFor({ timeout: 60_000 });
  await page.locator(".attempts li").nth(1).getByText("Succeeded").waitFor();
  await page.locator(".log").getByText("second try", { exact: true }).waitFor();
  await page.locator(".attempts").getByRole("link", { name: "#1" }).click();
  await page.locator(".log").getByText("first try", { exact: true }).waitFor();
  if (!page.url().includes("attempt=1")) throw new Error(`the URL does not name the attempt: ${page.url()}`);
  await shot("retry-attempts");

  step = "a release: dev deploys by itself, prod is started from the release page";
  await page.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link", { name: project }).click();
  await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Releases" }).click();
  await page.getByRole("link", { name: "1.0.0" }).click();
  const deployments = page.getByRole("table", { name: "Deployments" });
  const row = (env) => deployments.locator("tbody tr", { has: page.getByRole("link", { name: env, exact: true }) });
  await row("dev").getByText("Succeeded").waitFor({ timeout: 60_000 });
  await row("prod").getByRole("button", { name: "Start" }).click();
  await page
    .getByRole("dialog", { name: "Confirm the deployment to prod" })
    .getByRole("button", { name: "Deploy" })
    .click();
  await row("prod").getByText("Succeeded").waitFor({ timeout: 60_000 });
  await shot("release");
  await axe(page, "release");
  step = "the environment's page shows the version deployed in prod";
  await row("prod").getByRole("link", { name: "prod", exact: true }).click();
  await page.getByText("Deployed now: 1.0.0").waitFor();
  await axe(page, "environment");
  step = "an Owner protects the environment from its page";
  await page.getByRole("button", { name: "Edit the protection" }).click();
  const protection = page.getByRole("form", { name: "Protection rules" });
  await protection.getByLabel("release manager").check();
  await protection.getByLabel("Users").fill("bob");
  await protection.getByRole("button", { name: "Save the protection" }).click();
  await page.getByText("Deployments here are started only by release managers, bob.").waitFor();
  await page.getByRole("status").getByText("Saved.").waitFor();
  // Nothing is followed here, so the socket closed by itself: no banner.
  await page.waitForTimeout(500);
  if (await page.getByText("Reconnecting").count()) throw new Error("a reconnecting banner with nothing lost");

  step = "a release created from the UI: the server's problem first, then the release page";
  await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Releases" }).click();
  await page.getByRole("button", { name: "New release" }).click();
  const form = page.locator("form.new-release");
  await form.getByLabel("Lifecycle").selectOption({ label: "standard (acme)" });
  const envSelect = (env) => form.locator("fieldset label", { hasText: new RegExp(`^${env}\\b`) }).locator("select");
  await envSelect("dev").selectOption({ label: "deploy" });
  await envSelect("prod").selectOption({ label: "deploy" });
  await form.getByLabel("Version").fill("one point one");
  await form.getByRole("button", { name: "Create the release" }).click();
  await form.getByRole("alert").getByText("semanticVersion").waitFor();
  await form.getByLabel("Version").fill("1.1.0");
  await form.getByRole("button", { name: "Create the release" }).click();
  await page.waitForURL(/\/releases\/1\.1\.0$/);
  step = "compare with… shows what changed since 1.0.0";
  await page.getByLabel("Compare with").selectOption("1.0.0");
  await page.getByText("From 1.0.0 to 1.1.0").waitFor();
  if (!page.url().includes("compare=1.0.0")) throw new Error(`the URL does not name the comparison: ${page.url()}`);
  await axe(page, "release comparison");

  step = "a Viewer signs in with the OIDC provider at a deep link";
  const manualUrl = `${base}/organizations/${org}/projects/${project}/pipelines/${env("MANUAL_PIPELINE")}?node=stage.s.task.m`;
  const vic = await oidcUser("vic", manualUrl);
  step = "as a Viewer: no Start, Cancel, Retry or Approve on the waiting node's page";
  await vic.locator("#node-title").waitFor();
  await vic.locator(".panel").getByText("Waiting").first().waitFor();
  await noActions(vic, "the manual node's page");
  step = "as a Viewer: no Run or New template on the project's page";
  await vic.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link", { name: project }).click();
  await vic.getByRole("heading", { name: "Pipeline templates" }).waitFor();
  await vic.locator(".cards li", { hasText: "manual" }).waitFor();
  if (await vic.getByRole("button", { name: /^(Run|New template)$/ }).count())
    throw new Error("a Viewer is offered Run or New template");
  step = "as a Viewer: no Start on the release page";
  await vic.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Releases" }).click();
  await vic.getByRole("link", { name: "1.0.0" }).waitFor();
  await noActions(vic, "the releases page");
  await vic.getByRole("link", { name: "1.0.0" }).click();
  await vic.locator("tbody tr").first().waitFor();
  await noActions(vic, "the release page");
  step = "as a Viewer: the environment's protection is shown, not editable";
  await vic.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Environments" }).click();
  await vic.getByRole("link", { name: "prod", exact: true }).first().click();
  await vic.getByText("Deployments here are started only by").waitFor();
  await noActions(vic, "the environment page");
  step = "as a Viewer: the agents, not editable (a reload resumes the session)";
  await vic.goto(`${base}/agents`);
  await vic.getByRole("heading", { name: "Agents" }).waitFor();
  await vic.locator("tbody tr").first().waitFor();
  await noActions(vic, "the agents page");
  step = "the OIDC user signs out";
  await vic.getByRole("button", { name: "Sign out" }).click();
  await vic.getByRole("heading", { name: "Sign in" }).waitFor();
  await vic.context().close();

  step = "an approval: the creator is offered no Approve";
  await page.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link", { name: project }).click();
  await run("gated").click();
  await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
  await page.locator('.node[data-path="stage.s.task.gated"]').click();
  await page.locator(".panel").getByText("Awaiting approval").first().waitFor();
  await page.locator("#approval-title").waitFor();
  if (await page.locator(".actions").getByRole("button", { name: "Approve" }).count())
    throw new Error("the creator, who is not in the rule, is offered Approve");
  const loadsBefore = loads;
  step = "a second user (OIDC) approves, and the node goes on live on the creator's page";
  const bob = await oidcUser("bob", page.url());
  await bob.locator(".actions").getByRole("button", { name: "Approve" }).waitFor();
  if (shots) await bob.screenshot({ path: join(shots, "approval.png") });
  await bob.locator(".actions").getByRole("button", { name: "Approve" }).click();
  await bob.getByRole("dialog", { name: "Confirm approve" }).getByRole("button", { name: "Approve" }).click();
  await page.waitForFunction(
    () => document.querySelector('.node[data-path="stage.s.task.gated"]')?.getAttribute("data-status") === "SUCCEEDED",
    null,
    { timeout: 60_000 },
  );
  await page.locator(".log").getByText("approved", { exact: true }).waitFor();
  if (loads !== loadsBefore) throw new Error("the creator's page was reloaded");
  await bob.context().close();

  step = "the project's activity says who approved, and follows live";
  await page.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link", { name: project }).click();
  await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Activity" }).click();
  await page.locator("table.activity tr", { hasText: "user:bob" }).filter({ hasText: "approved" }).first().waitFor();
  await axe(page, "activity");
  // Something happens while the page is open (a pipeline run from another
  // tab, signed in by the session cookie): it appears without a reload.
  const seen = loads;
  const before = await page.locator("table.activity tbody tr").count();
  const tab = await context.newPage();
  await tab.goto(`${base}/organizations/${org}/projects/${project}`);
  await tab.locator(".cards li", { hasText: "hello" }).getByRole("button", { name: "Run" }).click();
  await tab.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
  await tab.close();
  await page.waitForFunction((n) => document.querySelectorAll("table.activity tbody tr").length > n, before, {
    timeout: 30_000,
  });
  if (loads !== seen) throw new Error("the activity page was reloaded");
  await shot("activity");
  step = "the organization's page shows the activity of its projects, linked";
  await page.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link", { name: org }).click();
  const orgRow = page.locator("table.activity tr", { hasText: "user:bob" }).filter({ hasText: "approved" }).first();
  await orgRow.getByRole("link", { name: "stage.s.task.gated" }).waitFor();
  await axe(page, "organization");
  step = "the home page shows the activity of every organization, each row saying where";
  await page.getByRole("link", { name: "Phobos", exact: true }).click();
  const homeRow = page.locator("table.activity tr", { hasText: "user:bob" }).filter({ hasText: "approved" }).first();
  await homeRow.getByRole("link", { name: project, exact: true }).waitFor();
  await homeRow.getByRole("link", { name: "stage.s.task.gated" }).click();
  await page.locator("#node-title").waitFor();
  await page.getByRole("link", { name: "Phobos", exact: true }).click();
  await page.getByRole("heading", { name: "Activity", exact: true }).waitFor();
  step = "the home page lists the recent pipelines, newest first, linked";
  const recent = page.getByRole("table", { name: "Recent pipelines" });
  await recent
    .locator("tbody tr")
    .first()
    .getByRole("link", { name: `${org}/${project}` })
    .waitFor();
  // Going from page to page swaps subscriptions, and the socket closes and
  // opens again by itself: that is no lost connection.
  await page.waitForTimeout(300);
  if (await page.getByText("Reconnecting").count()) throw new Error("a reconnecting banner after moving between pages");
  await shot("home");
  await axe(page, "home");

  step = "a deep link to the node opens the same view in a fresh browser";
  if (!deep.includes("node=stage.build.task.compile")) throw new Error(`the URL does not name the node: ${deep}`);
  const fresh = await browser.newContext();
  const again = await fresh.newPage();
  await again.goto(deep);
  await again.getByLabel("Email").fill(env("PHOBOS_EMAIL"));
  await again.getByLabel("Password").fill(env("PHOBOS_PASSWORD"));
  await again.getByRole("button", { name: "Sign in", exact: true }).click();
  await again.locator(".log").getByText("compiled", { exact: true }).waitFor();
  await fresh.close();

  step = "an administrator tags the shared agent";
  await page.goto(`${base}/agents`);
  await page.getByRole("button", { name: "Edit agent internal-0" }).click();
  const agentForm = page.getByRole("form", { name: "Agent internal-0" });
  await agentForm.getByLabel("Tags").fill("linux, docker");
  await agentForm.getByRole("button", { name: "Save" }).click();
  await page.locator("tbody tr", { hasText: "internal-0" }).getByText("linux, docker").waitFor();
  step = "an agent's sessions (open, with its last contact) and the jobs it ran";
  await page.getByRole("button", { name: "Sessions and jobs of agent internal-0" }).click();
  if (!page.url().includes("agent=prn")) throw new Error(`the URL does not name the agent: ${page.url()}`);
  await page.getByRole("table", { name: "Sessions of agent internal-0" }).getByText("● open").first().waitFor();
  const agentJobs = page.getByRole("table", { name: "Jobs of agent internal-0" });
  await agentJobs
    .getByRole("link", { name: /stage\.build\.task\.compile/ })
    .first()
    .waitFor();
  await shot("agents");
  await axe(page, "agents");

  step = "dark mode follows the toggle";
  await page.getByRole("button", { name: /System/ }).click();
  const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  if (dark !== "rgb(13, 17, 23)") throw new Error(`the dark theme's background is ${dark}`);
  await shot("dark");
  await axe(page, "dark mode");

  step = "a reload keeps the session, on the same page, with no token a script can read";
  const at = page.url();
  await page.reload();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  if (page.url() !== at) throw new Error(`the reload landed on ${page.url()}, not ${at}`);
  if ((await page.evaluate(() => document.cookie)).includes("phobos_refresh"))
    throw new Error("the session cookie is readable by scripts");
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  if (/eyJ|phr_/.test(stored)) throw new Error(`a token in web storage: ${stored}`);

  step = "signing out shows the sign-in form, and a reload then too";
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.reload();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();

  step = "no request left the server's origin";
  if (foreign.length) throw new Error(`requests to other origins: ${foreign.join(", ")}`);
  step = "no serious or critical accessibility violation (axe-core)";
  if (axeFindings.length) throw new Error(axeFindings.join("\n"));
  step = "no error on the page";
  if (problems.length) throw new Error(problems.join("\n"));
  console.log("ok: every browser step held");
} catch (e) {
  console.error(`FAILED at: ${step}\n${e instanceof Error ? e.message : e}`);
  if (problems.length) console.error(problems.join("\n"));
  if (process.env.DEBUG_WS) console.error((globalThis.frames_ ?? []).join("\n"));
  if (page)
    console.error(
      `--- the page (${page.url()}) ---\n${await page
        .locator("body")
        .innerText()
        .catch(() => "?")}`,
    );
  process.exitCode = 1;
} finally {
  await browser.close();
}
