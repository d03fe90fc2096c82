// Values that are valid but probably not meant, reported as warnings (or, for another Airflow major
// version, as an error by rules.ts) before anything is registered.
import { airflowVersionsInTag } from "../formats";
import type { StackConfig } from "./schema";

/**
 * Images (the Airflow image the workloads, the API server among them, run, or the image the base is
 * built FROM) whose tag names another Airflow version than airflowVersion. `otherMajor`: none of the
 * tag's versions has airflowVersion's major version (an Airflow 2 image), which cannot run what the
 * package renders for Airflow 3; a config error. Otherwise a warning.
 */
export function imageVersionMismatches(c: StackConfig): { key: string; ref: string; versions: string[]; otherMajor: boolean }[] {
    const major = (version: string) => version.split(".")[0];
    const images: [string, string | undefined][] = [
        ["images.airflow", c.images.airflow],
        ["images.build.baseImage", c.images.build.enabled ? c.images.build.baseImage : undefined],
    ];
    return images.flatMap(([key, ref]) => {
        const versions = ref === undefined ? [] : airflowVersionsInTag(ref);
        return ref !== undefined && versions.length && !versions.includes(c.airflowVersion)
            ? [{ key, ref, versions, otherMajor: !versions.some((v) => major(v) === major(c.airflowVersion)) }]
            : [];
    });
}

/** Valid but suspicious settings, reported as warnings before anything is registered. */
export function configWarnings(c: StackConfig, configNamespace: string): string[] {
    return imageVersionMismatches(c)
        .filter((m) => !m.otherMajor)
        .map(
            ({ key, ref, versions }) =>
                `${configNamespace}:${key}: the tag of ${ref} names Airflow ${versions.join(", ")} but airflowVersion is ${c.airflowVersion}; ` +
                "airflowVersion names the migration Job and the default images, so set it to the image's version",
        );
}
