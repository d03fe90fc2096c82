// A person's view of the deployment: headless Chromium (Debian's package) signs in as the
// generated admin and opens the DAG list; the caller checks the page and keeps the PNG.
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.AIRFLOW_LAB_CHROMIUM || "/usr/bin/chromium";

/** Signs in, opens /dags, waits for `expectDag` in the list and writes a PNG; returns the page text. */
/**
 * Signs in at `baseUrl` and screenshots the DAG list. `hostMap` ("name:port ip:port") points the URL's
 * host name at the Service, as DNS would point it at an ingress controller.
 */
export async function screenshotDagList(baseUrl: string, username: string, password: string, expectDag: string, file: string, hostMap?: string): Promise<string> {
    const browser = await chromium.launch({
        executablePath: CHROMIUM,
        // this machine has no network but loopback and the lab: keep Chromium from reaching out
        args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            ...(hostMap ? [`--host-resolver-rules=MAP ${hostMap}`] : []),
        ],
    });
    try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
        await page.goto(`${baseUrl}/`, { waitUntil: "domcontentloaded" });
        // FAB's sign-in form (the UI redirects there when not signed in)
        await page.locator('input[name="username"]').fill(username);
        await page.locator('input[name="password"]').fill(password);
        await Promise.all([page.waitForLoadState("domcontentloaded"), page.locator('input[type="submit"], button[type="submit"]').first().click()]);
        await page.goto(`${baseUrl}/dags`, { waitUntil: "domcontentloaded" });
        await page.getByText(expectDag, { exact: true }).first().waitFor({ timeout: 60_000 });
        await page.screenshot({ path: file, type: "png" });
        // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText, the text as rendered (not a DOM node)
        return await page.locator("body").innerText();
    } finally {
        await browser.close();
    }
}
