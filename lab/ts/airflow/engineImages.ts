// Where the lab's project images (base, DAG and task images) come from. On the real-engine path
// with the docker provider plugin, the stacks build them themselves through the package's
// images.build (components/images.ts, @pulumi/docker) with the lab's dockerd, and push them to the
// lab's loopback registry; lab/images.sh then builds only the stand-ins for upstream images (the
// apache/airflow stand-in the base starts FROM, Postgres, the exporters). Without the plugin or
// dockerd, images.sh builds the project images as before and the stacks deploy those by digest.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { kubectl, labCacheDir, REPO_DIR } from "../kubectl";
import { labImages } from "./cluster";

/** Which DAG image a lab stack runs: the repository's DAGs, those plus the lab's test DAGs, or none (DAGs from git). */
export type LabDags = "dags" | "dags-v2" | "none";

/** The lab's dockerd socket (lab/lib.sh's LAB_DOCKER_SOCK): the docker provider's DOCKER_HOST. */
export const labDockerHost = (): string => `unix://${path.join(labCacheDir(), "docker.sock")}`;

/** Where the project images come from, as lab/images.sh decided (LAB_PROJECT_IMAGES in images.env), and why. */
export function imageSource(): { source: "engine" | "lab"; why: string } {
    const file = path.join(labCacheDir(), "images.env");
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const value = (key: string) => text.match(new RegExp(`^${key}=(.*)$`, "m"))?.[1];
    const source = value("LAB_PROJECT_IMAGES") === "engine" ? "engine" : "lab";
    const why = value("LAB_PROJECT_IMAGES_WHY")?.replace(/^'(.*)'$/, "$1");
    return { source, why: why ?? "images.env names no image source (lab/images.sh of an earlier version)" };
}

/** The one line a deploy prints about its images. */
export function imageSourceLine(): string {
    const { source, why } = imageSource();
    return source === "engine"
        ? `images: base, DAG and task images built by the stack through images.build (@pulumi/docker, the lab's dockerd), pushed to the lab registry (${why})`
        : `images: the lab-built base, DAG and task images of lab/images.sh, deployed by digest (${why})`;
}

/** The lab registry's host:port, from the references images.sh wrote. */
export function labRegistry(): string {
    return labImages().POSTGRES.split("/")[0];
}

/** A build context under the lab cache, written only where a file differs (the engine hashes contents, not times). */
export function writeLabContext(name: string, files: Record<string, string>, copyFrom?: string): string {
    const dir = path.join(labCacheDir(), "contexts", "engine", name);
    fs.mkdirSync(dir, { recursive: true });
    const wanted = new Map<string, string>();
    const walk = (from: string, rel = "") => {
        for (const entry of fs.readdirSync(path.join(from, rel), { withFileTypes: true })) {
            const r = path.join(rel, entry.name);
            if (entry.isDirectory()) walk(from, r);
            else if (!/(__pycache__|\.pyc$)/.test(r)) wanted.set(r, fs.readFileSync(path.join(from, r), "utf8"));
        }
    };
    if (copyFrom) walk(copyFrom);
    for (const [rel, text] of Object.entries(files)) wanted.set(rel, text);
    const existing = new Set<string>();
    const list = (rel = "") => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const r = path.join(rel, entry.name);
            if (entry.isDirectory()) list(r);
            else existing.add(r);
        }
    };
    list();
    for (const r of existing) if (!wanted.has(r)) fs.rmSync(path.join(dir, r));
    for (const [r, text] of wanted) {
        const file = path.join(dir, r);
        if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === text) continue;
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
    }
    return dir;
}

/** The repository's DAG context plus the lab's test DAGs (one added after deploy, one with an import error). */
function dagsV2Context(): string {
    const testdata = path.join(REPO_DIR, "lab", "testdata", "dags");
    const extra = Object.fromEntries(
        fs
            .readdirSync(testdata)
            .filter((f) => f.endsWith(".py"))
            .map((f) => [path.join("dags", f), fs.readFileSync(path.join(testdata, f), "utf8")]),
    );
    return writeLabContext("dags-v2", extra, path.join(REPO_DIR, "images", "dags"));
}

/** Build contexts of an engine-built stack: paths relative to the repository (as a user's stack has them) or absolute. */
export interface EngineContexts {
    base: string;
    dags: string;
    tasks: Record<string, string>;
}

/** The repository's own contexts, as a user's stack names them. */
export const REPO_CONTEXTS: EngineContexts = { base: "images/base", dags: "images/dags", tasks: { example: "images/tasks/example" } };

/**
 * The `images` and `registry` sections of a stack that builds its images through the engine against
 * the lab: FROM the pushed apache/airflow stand-in, with its constraints file (GitHub's is out of
 * reach), RUN steps on the host network (the lab's dockerd has no bridge), pushed to the loopback
 * registry with the machine's Docker credentials (none: the registry is open on 127.0.0.1).
 */
export function engineImageSections(contexts: EngineContexts): { images: Record<string, unknown>; registry: Record<string, unknown> } {
    const images = labImages();
    if (!images.AIRFLOW_UPSTREAM) throw new Error("images.env has no LAB_IMAGE_AIRFLOW_UPSTREAM: run lab/images.sh");
    return {
        images: {
            airflow: undefined,
            build: {
                enabled: true,
                baseImage: images.AIRFLOW_UPSTREAM,
                baseArgs: { AIRFLOW_CONSTRAINTS_URL: "/opt/airflow-lab/constraints.txt" },
                network: "host",
                baseContext: contexts.base,
                dagsContext: contexts.dags,
            },
            tasks: Object.fromEntries(Object.entries(contexts.tasks).map(([name, context]) => [name, { context }])),
        },
        registry: { server: `${labRegistry()}/airflow` },
    };
}

/**
 * The image sections of a lab stack running `dags`: engine-built from the repository's contexts, or
 * the lab-built references of lab/images.sh. "none" (DAGs from git) runs the base's providers too:
 * engine-built, its DAG image's own DAGs unused (the DAG folder is git-sync's), or the lab-built base.
 */
export function labImageSections(dags: LabDags): { images: Record<string, unknown>; registry?: Record<string, unknown> } {
    const images = labImages();
    if (imageSource().source === "engine") {
        return engineImageSections({ ...REPO_CONTEXTS, dags: dags === "dags-v2" ? dagsV2Context() : REPO_CONTEXTS.dags });
    }
    const ref = { dags: images.DAGS, "dags-v2": images.DAGS_V2, none: images.BASE }[dags];
    if (!ref) throw new Error(`images.env has no lab-built ${dags} image: run lab/images.sh`);
    return { images: { airflow: ref, taskImages: { example: images.TASK_EXAMPLE } } };
}

/** Tags an image of the lab's dockerd as `target` and pushes it (a platform team mirroring an upstream image into its registry). */
export function pushAs(source: string, target: string): void {
    for (const args of [
        ["tag", source, target],
        ["push", target],
    ]) {
        const r = spawnSync("docker", ["-H", labDockerHost(), ...args], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`docker ${args.join(" ")} failed:\n${r.stderr || r.stdout}`);
    }
}

/** The image every Airflow process of `namespace` runs, and the task_images Variable the deployment set. */
export function deployedImages(namespace: string): { airflow: string; tasks: Record<string, string> } {
    const scheduler = JSON.parse(kubectl(["get", "deployment", "airflow-scheduler", "-n", namespace, "-o", "json"]).stdout);
    const airflow = scheduler.spec.template.spec.containers.find((c: any) => c.name === "scheduler").image as string;
    const jobs = (JSON.parse(kubectl(["get", "jobs", "-n", namespace, "-o", "json"]).stdout).items as any[])
        .filter((j) => j.metadata.name.startsWith("airflow-task-images-") && !j.metadata.deletionTimestamp)
        .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
    const env = jobs.at(-1)?.spec.template.spec.containers[0].env as { name: string; value?: string }[] | undefined;
    const json = env?.find((e) => e.name === "TASK_IMAGES")?.value;
    return { airflow, tasks: json ? JSON.parse(json) : {} };
}
