// Values derived from the config the same way wherever they are used.
import type { StackConfig } from "./schema";

/**
 * Airflow's base URL (`[api] base_url`) and its path ("" at the root): from the Ingress when it is on
 * (https with a TLS Secret), else ui.baseUrl; undefined when the UI has no URL of its own.
 */
export function uiBaseUrl(ui: StackConfig["ui"]): { url: string; path: string } | undefined {
    const i = ui.ingress;
    const url = i.enabled && i.host ? `${i.tlsSecretName ? "https" : "http"}://${i.host}${i.pathPrefix === "/" ? "" : i.pathPrefix}` : ui.baseUrl;
    if (url === undefined) return undefined;
    return { url, path: new URL(url).pathname.replace(/\/$/, "") };
}
