// The UI in a real browser: Debian's Chromium, headless, driven by
// playwright-core (which downloads no browser), against the real phobos,
// agent and executor that api/tests/ui_browser.rs starts. Every host but
// 127.0.0.1 is unresolvable, and every request is checked to go to the
// server's own origin.
//
//   PHOBOS_URL, PHOBOS_EMAIL, PHOBOS_PASSWORD, PHOBOS_ORG, PHOBOS_PROJECT,
//   HELLO_HCL (a file), SCREENSHOTS (a directory, optional)
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
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: project, level: 2 }).waitFor();

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
  await page.locator(".react-flow__edge path").first().waitFor({ state: "attached", timeout: 5000 });

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
  if (loads !== 1) throw new Error(`the page loaded ${loads} times`);
  await shot("pipeline-node-log");
  await axe(page, "pipeline with a node's log");
  const deep = page.url();

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
  const row = (env) => page.locator("tbody tr", { has: page.getByRole("link", { name: env, exact: true }) });
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
  // Nothing is followed here, so the socket closed by itself: no banner.
  await page.waitForTimeout(500);
  if (await page.getByText("Reconnecting").count()) throw new Error("a reconnecting banner with nothing lost");

  step = "a deep link to the node opens the same view in a fresh browser";
  if (!deep.includes("node=stage.build.task.compile")) throw new Error(`the URL does not name the node: ${deep}`);
  const fresh = await browser.newContext();
  const again = await fresh.newPage();
  await again.goto(deep);
  await again.getByLabel("Email").fill(env("PHOBOS_EMAIL"));
  await again.getByLabel("Password").fill(env("PHOBOS_PASSWORD"));
  await again.getByRole("button", { name: "Sign in" }).click();
  await again.locator(".log").getByText("compiled", { exact: true }).waitFor();
  await fresh.close();

  step = "dark mode follows the toggle";
  await page.getByRole("button", { name: /System/ }).click();
  const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  if (dark !== "rgb(13, 17, 23)") throw new Error(`the dark theme's background is ${dark}`);
  await shot("dark");
  await axe(page, "dark mode");

  step = "signing out shows the sign-in form";
  await page.getByRole("button", { name: "Sign out" }).click();
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
