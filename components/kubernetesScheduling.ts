// Where a pod may run, as the config takes it (affinity, tolerations, topologySpreadConstraints):
// every object closed like the strict OpenAPI schema, and the API server's rules that schema does not
// express (operators, the values each operator needs, weights, label keys and values), checked at
// config time so that a mistake is refused by key rather than by the API server mid-update, or, in
// the worker pod template that nothing else checks, by every task failing to start.
// No imports from components: the config (components/config/) reads this module before any component exists.
import { z } from "zod";
import { dnsLabel, labelKey, labelValue, oneOf } from "./kubernetesFields";

type Ctx = z.RefinementCtx;
const issue = (ctx: Ctx, path: (string | number)[], input: unknown, message: string) => ctx.addIssue({ code: "custom", path, input, message });

const SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;
const NODE_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] as const;

/** `values` as the operator needs them: a list for In/NotIn, none for Exists/DoesNotExist, one integer for Gt/Lt. */
function operatorValues(r: { operator: string; values?: string[] }, ctx: Ctx): void {
    const values = r.values ?? [];
    if ((r.operator === "In" || r.operator === "NotIn") && values.length === 0) issue(ctx, ["values"], r.values, `must have at least one value when operator is ${r.operator}`);
    if ((r.operator === "Exists" || r.operator === "DoesNotExist") && values.length > 0) issue(ctx, ["values"], r.values, `must be empty when operator is ${r.operator}`);
    if ((r.operator === "Gt" || r.operator === "Lt") && !(values.length === 1 && /^-?\d+$/.test(values[0]))) {
        issue(ctx, ["values"], r.values, `must be a single integer when operator is ${r.operator}, e.g. ["3"]`);
    }
}

/** A label selector (of pods, of namespaces): matchLabels and matchExpressions. */
export const labelSelector = z.strictObject({
    matchLabels: z.record(labelKey, labelValue).optional(),
    matchExpressions: z
        .array(z.strictObject({ key: labelKey, operator: oneOf(SELECTOR_OPERATORS), values: z.array(labelValue).optional() }).superRefine(operatorValues))
        .optional(),
});

const nodeSelectorRequirement = z.strictObject({ key: labelKey, operator: oneOf(NODE_OPERATORS), values: z.array(z.string()).optional() }).superRefine(operatorValues);

/** A node field selector: only metadata.name, with In or NotIn and one value. */
const nodeFieldRequirement = z
    .strictObject({
        key: z.literal("metadata.name", { error: "must be metadata.name (the only node field a selector may match)" }),
        operator: oneOf(["In", "NotIn"]),
        values: z.array(z.string()).optional(),
    })
    .superRefine((r, ctx) => {
        if (r.values?.length !== 1) issue(ctx, ["values"], r.values, `must be exactly one node name when operator is ${r.operator}`);
    });

const nodeSelectorTerm = z.strictObject({ matchExpressions: z.array(nodeSelectorRequirement).optional(), matchFields: z.array(nodeFieldRequirement).optional() });
const weight = z.int().min(1, "must be from 1 to 100").max(100, "must be from 1 to 100");

const nodeAffinity = z.strictObject({
    requiredDuringSchedulingIgnoredDuringExecution: z.strictObject({ nodeSelectorTerms: z.array(nodeSelectorTerm).min(1, "must have at least one node selector term") }).optional(),
    preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, preference: nodeSelectorTerm })).optional(),
});

/** The labels a selector names (matchLabels and matchExpressions keys). */
function selectorKeys(s: z.output<typeof labelSelector> | undefined): Set<string> {
    return new Set([...Object.keys(s?.matchLabels ?? {}), ...(s?.matchExpressions ?? []).map((e) => e.key)]);
}

/** matchLabelKeys (and mismatchLabelKeys) need a labelSelector and must not repeat its keys or each other's. */
function labelKeysProblems(t: { labelSelector?: z.output<typeof labelSelector>; matchLabelKeys?: string[]; mismatchLabelKeys?: string[] }, ctx: Ctx): void {
    const inSelector = selectorKeys(t.labelSelector);
    for (const field of ["matchLabelKeys", "mismatchLabelKeys"] as const) {
        (t[field] ?? []).forEach((key, i) => {
            if (t.labelSelector === undefined) issue(ctx, [field, i], key, "needs a labelSelector: the keys are added to it");
            else if (inSelector.has(key)) issue(ctx, [field, i], key, "is already a key of labelSelector: name it in one of them");
            if (field === "mismatchLabelKeys" && t.matchLabelKeys?.includes(key)) issue(ctx, [field, i], key, "is also in matchLabelKeys: a key may be in only one of them");
        });
    }
}

const podAffinityTerm = z
    .strictObject({
        labelSelector: labelSelector.optional(),
        namespaceSelector: labelSelector.optional(),
        namespaces: z.array(dnsLabel).optional(),
        topologyKey: labelKey,
        matchLabelKeys: z.array(labelKey).optional(),
        mismatchLabelKeys: z.array(labelKey).optional(),
    })
    .superRefine(labelKeysProblems);

const podAffinity = z.strictObject({
    requiredDuringSchedulingIgnoredDuringExecution: z.array(podAffinityTerm).optional(),
    preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, podAffinityTerm })).optional(),
});

export const affinity = z.strictObject({ nodeAffinity: nodeAffinity.optional(), podAffinity: podAffinity.optional(), podAntiAffinity: podAffinity.optional() });

export const toleration = z
    .strictObject({
        key: labelKey.optional(),
        operator: oneOf(["Exists", "Equal"]).optional(),
        value: labelValue.optional(),
        effect: oneOf(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
        tolerationSeconds: z.int().optional(),
    })
    .superRefine((t, ctx) => {
        if (!t.key && t.operator !== "Exists") issue(ctx, ["operator"], t.operator, "must be Exists when key is empty (it then tolerates every taint)");
        if (t.operator === "Exists" && t.value) issue(ctx, ["value"], t.value, "must be empty when operator is Exists");
        if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") issue(ctx, ["tolerationSeconds"], t.tolerationSeconds, "is only allowed with effect NoExecute");
    });

export const topologySpreadConstraint = z
    .strictObject({
        maxSkew: z.int().min(1),
        topologyKey: labelKey,
        whenUnsatisfiable: oneOf(["DoNotSchedule", "ScheduleAnyway"]),
        labelSelector: labelSelector.optional(),
        minDomains: z.int().min(1).optional(),
        matchLabelKeys: z.array(labelKey).optional(),
        nodeAffinityPolicy: oneOf(["Honor", "Ignore"]).optional(),
        nodeTaintsPolicy: oneOf(["Honor", "Ignore"]).optional(),
    })
    .superRefine((t, ctx) => {
        if (t.minDomains !== undefined && t.whenUnsatisfiable !== "DoNotSchedule")
            issue(ctx, ["minDomains"], t.minDomains, "is only allowed with whenUnsatisfiable: DoNotSchedule");
        labelKeysProblems(t, ctx);
    });

/** The API server refuses two constraints with the same topologyKey and whenUnsatisfiable. */
export const topologySpreadConstraints = z.array(topologySpreadConstraint).superRefine((list, ctx) => {
    list.forEach((t, i) => {
        const first = list.findIndex((o) => o.topologyKey === t.topologyKey && o.whenUnsatisfiable === t.whenUnsatisfiable);
        if (first < i) issue(ctx, [i], undefined, `repeats topologyKey ${t.topologyKey} with whenUnsatisfiable ${t.whenUnsatisfiable} of entry ${first}: merge them`);
    });
});
