// The parts of @pulumi/kubernetes this package uses, each from its own module. The package's index
// would also load every other API group and the Helm and YAML support (with glob and minimatch): about
// 60 ms more on every `pulumi preview` (npm run bench, row (d)). The types are compile-time only.
export * as apiextensions from "@pulumi/kubernetes/apiextensions";
export * as apps from "@pulumi/kubernetes/apps";
export * as autoscaling from "@pulumi/kubernetes/autoscaling";
export * as batch from "@pulumi/kubernetes/batch";
export * as core from "@pulumi/kubernetes/core";
export * as discovery from "@pulumi/kubernetes/discovery";
export * as networking from "@pulumi/kubernetes/networking";
export * as policy from "@pulumi/kubernetes/policy";
export * as rbac from "@pulumi/kubernetes/rbac";
export { Provider } from "@pulumi/kubernetes/provider";
import type * as types from "@pulumi/kubernetes/types";
export type { types };
