// CLI behind lab/check.sh: check FILE [NAMESPACE] [--expect-reject REGEX]
import { CheckError, runCheck } from "./lab";

function main(argv: string[]): number {
    const args = [...argv];
    let expectReject: RegExp | undefined;
    const i = args.indexOf("--expect-reject");
    if (i >= 0) {
        expectReject = new RegExp(args[i + 1] ?? ".");
        args.splice(i, 2);
    }
    const [file, namespace] = args;
    if (!file || args.length > 2) {
        process.stderr.write("usage: lab/check.sh FILE [NAMESPACE] [--expect-reject REGEX]\n" +
            "  FILE: multi-document YAML, or a JSON array/List of Kubernetes objects\n");
        return 2;
    }
    try {
        const res = runCheck(file, { namespace });
        if (expectReject) {
            process.stderr.write(`FAIL: ${file} was accepted, but the API server should have rejected it (${expectReject})\n`);
            return 1;
        }
        process.stderr.write(`PASS: ${file}: ${res.objects} objects in namespace ${res.namespace} applied, ready, re-applied without change, deleted cleanly\n`);
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
