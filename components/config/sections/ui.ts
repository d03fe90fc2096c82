// How the UI and REST API are reached and who logs in.
import { isIP } from "net";
import { z } from "zod";
import { dnsSubdomainProblem, forwardedAllowIpsProblem } from "../../formats";
import { annotations, checked, dnsLabel, objectName } from "../../kubernetesObjects";
import { secretKey } from "../secretEnv";
import { cidr } from "../fields";

export const uiSections = {
    /** How the UI and REST API are reached and who logs in: Service type and port, auth manager, admin user, allowed CIDRs. */
    ui: z
        .strictObject({
            serviceType: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).default("ClusterIP"),
            port: z.int().min(1).max(65535).default(8080),
            /**
             * `fab`: users in the metadata database (an admin is created). `simple`: Airflow's simple auth
             * manager with one admin user whose generated password every API server replica reads from the
             * keys Secret. Either way the password is the secret stack output `adminPassword`.
             */
            authManager: z.enum(["fab", "simple"]).default("fab"),
            /** The admin's user name (letters, digits, '.', '_', '@', '-': the simple auth manager lists users as `name:role,...`). */
            adminUsername: z
                .string()
                .regex(/^[A-Za-z0-9._@-]{1,64}$/, "must be a user name: letters, digits, '.', '_', '@' and '-', at most 64")
                .default("admin"),
            /**
             * CIDRs allowed to reach the UI when network policies are on. Behind an Ingress the API server
             * sees the controller's pods, not the browser: include their addresses, or name the
             * controller's namespace in ingress.controllerNamespace.
             */
            allowedCidrs: z.array(cidr).default(["0.0.0.0/0"]),
            /**
             * The URL people open, when the UI is published some other way than `ingress` (a LoadBalancer
             * with a DNS name, an outside proxy). A path (https://example.com/airflow) serves the UI, the
             * REST API and the execution API under it.
             */
            baseUrl: z
                .string()
                .regex(
                    /^https?:\/\/[^\s/?#@]+(\/[A-Za-z0-9._~-]+)*\/?$/,
                    "must be an http:// or https:// URL such as https://airflow.example.com or https://example.com/airflow, without query or credentials",
                )
                .transform((url) => url.replace(/\/$/, ""))
                .optional(),
            /**
             * An Ingress in front of the API server Service (needs an ingress controller in the cluster).
             * `pulumi up` waits until the controller publishes the Ingress's address; where none does,
             * add the annotation `pulumi.com/skipAwait: "true"`.
             */
            ingress: z
                .strictObject({
                    enabled: z.boolean().default(false),
                    /** IngressClass; the cluster's default class when omitted. */
                    className: objectName.optional(),
                    /** Host name people open, e.g. airflow.example.com. */
                    host: checked((v) =>
                        dnsSubdomainProblem(v) || isIP(v)
                            ? "must be a DNS name such as airflow.example.com: lowercase letters, digits, '-' and '.', not an IP address (an Ingress rule's host is a name)"
                            : undefined,
                    ).optional(),
                    /** Serve Airflow under a path, e.g. /airflow (the UI, the REST API and the execution API all move under it). */
                    pathPrefix: z
                        .string()
                        .regex(
                            /^\/([A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*)?$/,
                            "must be / or a path such as /airflow: '/'-separated segments of letters, digits, '.', '_', '~' and '-', without a trailing '/'",
                        )
                        .default("/"),
                    /** Secret (kubernetes.io/tls) with the certificate for host; the URL is then https. */
                    tlsSecretName: objectName.optional(),
                    /** Annotations of the Ingress (the controller's settings, cert-manager, ...). */
                    annotations,
                    /** Namespace of the ingress controller's pods: the NetworkPolicy lets them reach the API server. */
                    controllerNamespace: dnsLabel.optional(),
                    /**
                     * Addresses whose X-Forwarded-* headers the API server trusts (uvicorn's forwarded_allow_ips):
                     * `*`, or IPs and CIDRs separated by ','. The NetworkPolicy already limits who reaches the port.
                     */
                    forwardedAllowIps: checked(forwardedAllowIpsProblem).default("*"),
                })
                .prefault({})
                .superRefine((i, ctx) => {
                    if (i.enabled && i.host === undefined)
                        ctx.addIssue({
                            code: "custom",
                            path: ["host"],
                            input: undefined,
                            message: "is required when ui.ingress.enabled is true (it also makes Airflow's base URL)",
                        });
                }),
            /**
             * FAB's webserver_config.py (OAuth, LDAP, roles mapping) from a Secret or a ConfigMap, mounted
             * read-only in the API server and the migration Job. See docs/authentication.md.
             */
            webserverConfig: z
                .strictObject({
                    secretName: objectName.optional(),
                    configMapName: objectName.optional(),
                    key: secretKey.default("webserver_config.py"),
                })
                .superRefine((w, ctx) => {
                    if ((w.secretName === undefined) === (w.configMapName === undefined))
                        ctx.addIssue({ code: "custom", input: undefined, message: "needs exactly one of secretName and configMapName" });
                })
                .optional(),
        })
        .prefault({}),
};
