// The lab's TypeScript library (see README.md): the cluster and kubectl, the object check behind
// lab/check.sh, and what is left in a namespace. The Airflow parts are in ./airflow.
export * from "./check";
export * from "./kubectl";
export { namespaceLeftovers } from "./leftovers";
export { KObject, loadObjects, ref, splitJsonStream } from "./objects";
