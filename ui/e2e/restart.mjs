// A server killed mid-run, in a real browser (issue 11, scenario 8): the
// page of a running pipeline, with a task's log open, loses the server
// (api/tests/ui_restart.rs kills it with SIGKILL when this prints
// `kill-now`, and answers `restarted` on stdin once it is back). The page
// says "Reconnecting…", then, with no reload, shows the pipeline's final
// state and every log line exactly once; the banner goes.
//
//   PHOBOS_URL, PHOBOS_EMAIL, PHOBOS_PASSWORD, PIPELINE_URL (the pipeline's
//   page, with the task's node open), LINES (how many lines the task prints)
//
// Exits 0 when every step held; otherwise prints the step that failed.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("PHOBOS_URL");
const host = new URL(base).host;
const lines = Number(env("LINES"));
const stdin = createInterface({ input: process.stdin });
const said = (word) =>
  new Promise((resolve) =>
    stdin.on("line", (l) => {
      if (l.trim() === word) resolve();
    }),
  );
const restarted = said("restarted");

let step = "starting the browser";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const foreign = [];
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.protocol !== "data:" && url.protocol !== "blob:" && url.host !== host) foreign.push(r.url());
  });
  let loads = 0;
  page.on("load", () => loads++);

  step = "signing in at the running pipeline's page";
  await page.goto(env("PIPELINE_URL"));
  await page.getByLabel("Email").fill(env("PHOBOS_EMAIL"));
  await page.getByLabel("Password").fill(env("PHOBOS_PASSWORD"));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.locator("#node-title").waitFor();
  await page.locator(".log").getByText("tick 3", { exact: true }).waitFor();

  step = "the server is killed: the page says it is reconnecting";
  console.log("kill-now");
  await page.getByText("Reconnecting").waitFor({ timeout: 30_000 });

  step = "the server is back: the page catches up with no reload";
  await restarted;
  await page.locator("#pipeline-title").getByText("Succeeded").waitFor({ timeout: 90_000 });
  await page.locator(".log").getByText(`tick ${lines}`, { exact: true }).waitFor({ timeout: 30_000 });
  await page.getByText("Reconnecting").waitFor({ state: "detached", timeout: 30_000 });
  if (loads !== 1) throw new Error(`the page loaded ${loads} times`);
  if (!(await page.getByRole("button", { name: "Sign out" }).count())) throw new Error("signed out by the restart");

  step = "every log line is there exactly once (the raw download, and the search over the whole log)";
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download" }).click(),
  ]);
  const text = readFileSync(await download.path(), "utf8");
  const counts = new Map();
  for (const l of text.split("\n")) counts.set(l, (counts.get(l) ?? 0) + 1);
  const wrong = [];
  for (let i = 1; i <= lines; i++)
    if (counts.get(`tick ${i}`) !== 1) wrong.push(`tick ${i} ×${counts.get(`tick ${i}`) ?? 0}`);
  if (wrong.length) throw new Error(`the stored log is not every line once: ${wrong.join(", ")}\n${text}`);
  // What the page holds: as many lines as printed, each once.
  await page.getByLabel("Search the whole log").fill("tick ");
  await page.getByText(`1 of ${lines}`, { exact: true }).waitFor();

  step = "no request left the server's origin";
  if (foreign.length) throw new Error(`requests to other origins: ${foreign.join(", ")}`);
  console.log("ok: every restart step held");
} catch (e) {
  console.error(`FAILED at: ${step}\n${e instanceof Error ? e.message : e}`);
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
  stdin.close();
}
