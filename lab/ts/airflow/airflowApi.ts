// A small client for Airflow 3's REST API (/api/v2), authenticated as the generated admin: the
// scenario drives Airflow only through what a user has, the API server's Service.
export class AirflowApi {
    private token?: string;

    constructor(
        readonly baseUrl: string,
        private readonly username: string,
        private readonly password: string,
    ) {}

    private async login(): Promise<string> {
        const r = await fetch(`${this.baseUrl}/auth/token`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ username: this.username, password: this.password }),
        });
        if (!r.ok) throw new Error(`login as ${this.username} failed: HTTP ${r.status} ${await r.text()}`);
        return ((await r.json()) as { access_token: string }).access_token;
    }

    async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
        for (let attempt = 0; ; attempt++) {
            this.token ??= await this.login();
            const r = await fetch(`${this.baseUrl}${path}`, {
                method,
                headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
                body: body === undefined ? undefined : JSON.stringify(body),
            });
            if (r.status === 401 && attempt === 0) {
                this.token = undefined; // expired: log in again once
                continue;
            }
            const text = await r.text();
            if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${text.slice(0, 500)}`);
            return (text ? JSON.parse(text) : undefined) as T;
        }
    }

    get<T = any>(path: string): Promise<T> {
        return this.request<T>("GET", path);
    }

    async health(): Promise<any> {
        const r = await fetch(`${this.baseUrl}/api/v2/monitor/health`);
        if (!r.ok) throw new Error(`health: HTTP ${r.status}`);
        return r.json();
    }

    async unpause(dagId: string): Promise<void> {
        await this.request("PATCH", `/api/v2/dags/${dagId}`, { is_paused: false });
    }

    async trigger(dagId: string, runId: string, conf?: Record<string, unknown>): Promise<void> {
        await this.request("POST", `/api/v2/dags/${dagId}/dagRuns`, { dag_run_id: runId, logical_date: null, ...(conf ? { conf } : {}) });
    }

    async dagRun(dagId: string, runId: string): Promise<{ state: string }> {
        return this.get(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`);
    }

    async taskInstances(dagId: string, runId: string): Promise<{ task_id: string; state: string; try_number: number; hostname: string; start_date?: string | null }[]> {
        return (await this.get(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}/taskInstances`)).task_instances;
    }

    async taskLog(dagId: string, runId: string, taskId: string, tryNumber: number): Promise<string> {
        const body = await this.get(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}/taskInstances/${taskId}/logs/${tryNumber}?full_content=true`);
        const content = body.content;
        if (typeof content === "string") return content;
        return (content as any[]).map((e) => (typeof e === "string" ? e : (e.event ?? JSON.stringify(e)))).join("\n");
    }

    async xcom(dagId: string, runId: string, taskId: string, key = "return_value"): Promise<unknown> {
        return (await this.get(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}/taskInstances/${taskId}/xcomEntries/${key}`)).value;
    }
}
