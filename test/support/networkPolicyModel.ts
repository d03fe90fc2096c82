// A model of NetworkPolicy semantics for the unit tests: given the rendered policies, is a connection
// from one endpoint to another allowed? It follows the Kubernetes API's rules (a pod selected by no
// policy of a direction is open in that direction; otherwise the union of the selecting policies'
// rules decides; an empty peer list or port list matches everything), and matches ipBlocks against
// every address, pod addresses included, as kube-router and several other engines do. Ports are the
// destination pod's own (after Service translation). IPv4 only.

export interface Endpoint {
    /** A pod: its namespace (with the namespace's labels) and its labels. Absent for a plain address. */
    pod?: { namespace: string; namespaceLabels?: Record<string, string>; labels: Record<string, string> };
    ip: string;
}
export interface Connection {
    from: Endpoint;
    to: Endpoint;
    port: number;
    protocol?: "TCP" | "UDP";
}

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
type Peer = { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: { cidr: string; except?: string[] } };
type Port = { protocol?: string; port?: number | string; endPort?: number };
type Rule = { to?: Peer[]; from?: Peer[]; ports?: Port[] };
export interface Policy {
    metadata: { name: string; namespace: string };
    spec: { podSelector: Selector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}

function ipv4(ip: string): number {
    const parts = ip.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`not an IPv4 address: ${ip}`);
    return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function inCidr(ip: string, cidr: string): boolean {
    const [base, bits] = cidr.split("/");
    if (base.includes(":")) return false; // IPv6 blocks never match the model's IPv4 addresses
    const prefix = Number(bits);
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    return ((ipv4(ip) & mask) >>> 0) === ((ipv4(base) & mask) >>> 0);
}

export function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
    if (!selector) return true;
    for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
    for (const e of selector.matchExpressions ?? []) {
        const has = e.key in labels;
        const ok =
            e.operator === "In" ? has && (e.values ?? []).includes(labels[e.key]) :
            e.operator === "NotIn" ? !has || !(e.values ?? []).includes(labels[e.key]) :
            e.operator === "Exists" ? has :
            e.operator === "DoesNotExist" ? !has :
            (() => { throw new Error(`unknown selector operator ${e.operator}`); })();
        if (!ok) return false;
    }
    return true;
}

function namespaceLabels(pod: NonNullable<Endpoint["pod"]>): Record<string, string> {
    return { "kubernetes.io/metadata.name": pod.namespace, ...(pod.namespaceLabels ?? {}) };
}

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
    if (peer.ipBlock) return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((e) => inCidr(other.ip, e));
    if (!other.pod) return false; // pod and namespace selectors match pods only
    if (peer.namespaceSelector) {
        if (!selects(peer.namespaceSelector, namespaceLabels(other.pod))) return false;
    } else if (other.pod.namespace !== policyNamespace) {
        return false;
    }
    return selects(peer.podSelector, other.pod.labels);
}

function portMatches(ports: Port[] | undefined, port: number, protocol: string): boolean {
    if (!ports?.length) return true;
    return ports.some((p) => (p.protocol ?? "TCP") === protocol && (p.port === undefined || (typeof p.port === "number" && port >= p.port && port <= (p.endPort ?? p.port))));
}

function direction(policies: Policy[], pod: Endpoint, other: Endpoint, kind: "Ingress" | "Egress", port: number, protocol: string): boolean {
    if (!pod.pod) return true; // a plain address is not subject to this cluster's policies
    const own = policies.filter(
        (p) => p.metadata.namespace === pod.pod!.namespace && selects(p.spec.podSelector, pod.pod!.labels) && (p.spec.policyTypes ?? ["Ingress"]).includes(kind),
    );
    if (!own.length) return true;
    return own.some((p) =>
        ((kind === "Egress" ? p.spec.egress : p.spec.ingress) ?? []).some((rule) => {
            const peers = kind === "Egress" ? rule.to : rule.from;
            return (!peers?.length || peers.some((peer) => peerMatches(peer, p.metadata.namespace, other))) && portMatches(rule.ports, port, protocol);
        }),
    );
}

/** Whether the connection is allowed: the source's egress and the destination's ingress both let it through. */
export function allowed(policies: Policy[], c: Connection): boolean {
    const protocol = c.protocol ?? "TCP";
    return direction(policies, c.from, c.to, "Egress", c.port, protocol) && direction(policies, c.to, c.from, "Ingress", c.port, protocol);
}
