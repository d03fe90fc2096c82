// What the NetworkPolicies need to know about the cluster's network.
import { z } from "zod";
import { dnsLabel, labelKey, labelValue } from "../../kubernetesObjects";
import { cidr } from "../fields";

export const networkSections = {
    /**
     * What the NetworkPolicies need to know about the cluster's network. Policies match traffic after
     * Service translation: the DNS pods' own port and the Kubernetes API server's real address and
     * port, not the Services'. See docs/network-policies.md.
     */
    network: z
        .strictObject({
            /** The cluster's DNS pods: every pod may reach them, on whatever port they listen (53, 1053, 5353, ...). */
            dns: z
                .strictObject({
                    namespace: dnsLabel.default("kube-system"),
                    podLabels: z.record(labelKey, labelValue).default({ "k8s-app": "kube-dns" }),
                })
                .prefault({}),
            /**
             * The Kubernetes API server's real endpoint (the addresses and ports behind the `kubernetes`
             * Service), reached by the scheduler, the worker-pod clean-up and pod-launching workers. When
             * omitted, the program reads it from the `default/kubernetes` EndpointSlice.
             */
            kubernetesApi: z
                .strictObject({
                    cidrs: z.array(cidr).min(1, "needs at least one CIDR, such as 172.16.0.2/32"),
                    ports: z.array(z.int().min(1).max(65535)).min(1, "needs at least one port, such as 443"),
                })
                .optional(),
            /**
             * The private address ranges of the cluster and its network (pods, Services, nodes, private
             * databases): "outside", where tasks, triggers, callbacks and git may go, is every address but
             * these and the Kubernetes API.
             */
            clusterCidrs: z
                .array(cidr.refine((c) => !c.endsWith("/0"), "must be a private range such as 10.0.0.0/8, not a whole address family"))
                .default(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]),
            /**
             * Private destinations (inside clusterCidrs) that tasks, triggers, callbacks and git-sync may
             * still reach: a git server or a database in the cluster, a service on the private network.
             * Each is a `cidr`, or pods by `namespace` and `podLabels`; `ports` limit it (all ports when omitted).
             */
            privateDestinations: z
                .array(
                    z
                        .strictObject({
                            cidr: cidr.optional(),
                            namespace: dnsLabel.optional(),
                            podLabels: z.record(labelKey, labelValue).optional(),
                            ports: z.array(z.int().min(1).max(65535)).optional(),
                        })
                        .superRefine((d, ctx) => {
                            const pods = d.namespace !== undefined || d.podLabels !== undefined;
                            if ((d.cidr !== undefined) === pods) {
                                ctx.addIssue({ code: "custom", input: undefined, message: "needs either cidr, or namespace and/or podLabels (not both)" });
                            }
                        }),
                )
                .default([]),
        })
        .prefault({}),
};
