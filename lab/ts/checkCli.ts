// CLI behind lab/check.sh:
//   check FILE [NAMESPACE] [--expect-reject REGEX] [--allow-retained-pvcs] [--reapply FILE2]
import { runCheck } from "./check";
import { CheckError } from "./kubectl";

const USAGE = `usage: lab/check.sh FILE [NAMESPACE] [options]
  FILE                   multi-document YAML, or a JSON array/List of Kubernetes objects
  NAMESPACE              default: the Namespace object in FILE / the namespace of its objects
  --expect-reject REGEX  pass only if the API server rejects FILE with an error matching REGEX
  --allow-retained-pvcs  accept StatefulSet claims kept by persistentVolumeClaimRetentionPolicy (warning)
  --reapply FILE2        test hook: re-apply FILE2 instead of FILE (the check must then fail)
env: AIRFLOW_LAB_KUBECONFIG (use that cluster), LAB_READY_TIMEOUT (180), LAB_DELETE_TIMEOUT (120),
     LAB_KEEP_ON_FAILURE=1 (leave objects for debugging), LAB_ALLOW_RETAINED_PVCS=1
`;

function takeFlag(args: string[], name: string, withValue: boolean): string | boolean | undefined {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const value = withValue ? args[i + 1] : true;
    if (withValue && value === undefined) throw new Error(`${name} needs a value`);
    args.splice(i, withValue ? 2 : 1);
    return value;
}

function main(argv: string[]): number {
    const args = [...argv];
    let expectReject: RegExp | undefined;
    let allowRetainedPvcs: boolean | undefined;
    let reapplyFile: string | undefined;
    try {
        const er = takeFlag(args, "--expect-reject", true);
        if (typeof er === "string") expectReject = new RegExp(er);
        allowRetainedPvcs = takeFlag(args, "--allow-retained-pvcs", false) === true ? true : undefined;
        const ra = takeFlag(args, "--reapply", true);
        if (typeof ra === "string") reapplyFile = ra;
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n${USAGE}`);
        return 2;
    }
    const [file, namespace] = args;
    if (!file || args.length > 2 || file.startsWith("--")) {
        process.stderr.write(USAGE);
        return 2;
    }
    try {
        const res = runCheck(file, { namespace, allowRetainedPvcs, reapplyFile });
        if (expectReject) {
            process.stderr.write(`FAIL: ${file} was accepted, but the API server should have rejected it (${expectReject})\n`);
            return 1;
        }
        const warn = res.warnings.length ? ` (${res.warnings.length} warnings)` : "";
        process.stderr.write(`PASS: ${file}: ${res.objects} objects in namespace ${res.namespace} applied, ready, re-applied without change, deleted cleanly${warn}\n`);
        return 0;
    } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (expectReject && e instanceof CheckError && e.step === "apply" && expectReject.test(msg)) {
            process.stderr.write(`PASS: ${file} was rejected as expected:\n${msg}\n`);
            return 0;
        }
        process.stderr.write(`FAIL: ${msg}\n`);
        return 1;
    }
}

process.exit(main(process.argv.slice(2)));
