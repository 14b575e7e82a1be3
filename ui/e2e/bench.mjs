// `cargo xtask bench` (the UI part), in headless Chromium: how long the
// page of a pipeline takes to be ready (its title and graph drawn), for a
// small and a large pipeline, and the longest main-thread task while the
// large one's node completions stream in (the Long Tasks API).
//
//   PHOBOS_URL, PHOBOS_EMAIL, PHOBOS_PASSWORD, SMALL_URL and LARGE_URL (the
//   pipelines' pages), RUNS (page loads of each, default 5)
//
// Prints one line of JSON: {"small": [ms…], "large": [ms…], "longest": ms,
// "tasks": n, "frames": n, "streamedFor": ms, "loadingLongest": ms}: the
// longest task and the count of those over 50 ms, and the socket frames
// received and for how long, while the completions stream in; the longest
// task while the pages loaded. It prints `stream-now` once the large page is ready and
// waits for `streamed` on stdin (api/benches/system.rs starts the
// pipeline's work in between and says when every node is final), then
// reads what the page saw.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const runs = Number(process.env.RUNS ?? 5);
const stdin = createInterface({ input: process.stdin });
const streamed = new Promise((resolve) =>
  stdin.on("line", (l) => {
    if (l.trim() === "streamed") resolve();
  }),
);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Every main-thread task over 50 ms, from the first script on.
  await context.addInitScript(() => {
    window.__long = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__long.push(e.duration);
    }).observe({ type: "longtask", buffered: true });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);
  // What the server sends the page over its sockets (to tell that the
  // completions did stream in).
  let frames = 0;
  let lastFrame = 0;
  page.on("websocket", (ws) =>
    ws.on("framereceived", () => {
      frames++;
      lastFrame = Date.now();
    }),
  );
  await page.goto(env("PHOBOS_URL"));
  await page.getByLabel("Email").fill(env("PHOBOS_EMAIL"));
  await page.getByLabel("Password").fill(env("PHOBOS_PASSWORD"));
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();

  /** Milliseconds from the navigation's start to the pipeline's title and graph drawn. */
  const ready = async (url) => {
    await page.goto(url);
    await page.locator("#pipeline-title .status").waitFor();
    await page.locator(".react-flow__node").first().waitFor();
    return page.evaluate(() => performance.now());
  };
  const small = [];
  const large = [];
  // Alternated, so both see the same machine; the first of each warms up.
  for (let i = 0; i <= runs; i++) {
    const s = await ready(env("SMALL_URL"));
    const l = await ready(env("LARGE_URL"));
    if (i > 0) (small.push(s), large.push(l));
  }
  const loading = await page.evaluate(() => window.__long);
  // The instrument works on this page: a 120 ms task of our own is seen.
  await page.evaluate(() => (window.__long = []));
  await page.evaluate(() =>
    setTimeout(() => {
      const t = performance.now();
      while (performance.now() - t < 120);
    }, 0),
  );
  await page.waitForTimeout(300);
  const probe = await page.evaluate(() => window.__long);
  if (!probe.some((d) => d >= 120)) throw new Error(`the long-task observer missed a 120 ms task: ${probe}`);
  // The large page stays open while its nodes complete.
  await page.evaluate(() => (window.__long = []));
  frames = 0;
  const streamStart = Date.now();
  console.log("stream-now");
  await streamed;
  await page.locator("#pipeline-title").getByText("Succeeded").waitFor();
  // The server is done before the page has every event (each is sent with
  // the pipeline and node as they are when it is sent): until the socket
  // has been quiet for 3 s.
  while (Date.now() - lastFrame < 3000) await page.waitForTimeout(500);
  const streamedFor = lastFrame - streamStart;
  const long = await page.evaluate(() => window.__long);
  console.log(
    JSON.stringify({
      small,
      large,
      longest: Math.max(0, ...long),
      tasks: long.length,
      frames,
      streamedFor,
      loadingLongest: Math.max(0, ...loading),
    }),
  );
} finally {
  await browser.close();
  stdin.close();
}
