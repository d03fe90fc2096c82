// The admin user, in every architecture: the migration step that creates it (FAB) and the env it
// reads, or the simple auth manager's user list; its password is the keys Secret's.
import type * as k8s from "./kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { SECRET_KEYS } from "./airflowPod";
import { secretEnv } from "./podParts";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** Shell lines that create FAB's admin user; idempotent (FAB reports an existing user and exits 0). */
export function adminScript(): string[] {
    return [
        'airflow users create --role Admin --username "$ADMIN_USERNAME" --password "$ADMIN_PASSWORD" --firstname Airflow --lastname Admin --email "$ADMIN_USERNAME@example.invalid"',
    ];
}

/** Shell lines that migrate the database and (FAB) create the admin user; safe to run on every start. */
export function migrationScript(createAdmin: boolean): string[] {
    return ["airflow db migrate", ...(createAdmin ? adminScript() : [])];
}

/** Env the admin-creation step reads; the password comes from the keys Secret. */
export function adminEnv(keysSecretName: pulumi.Input<string>, username: string): EnvVar[] {
    return [{ name: "ADMIN_USERNAME", value: username }, secretEnv("ADMIN_PASSWORD", keysSecretName, SECRET_KEYS.adminPassword)];
}

/** The simple auth manager's user list: the one admin. */
export function simpleAuthUsers(adminUsername: string): string {
    return `${adminUsername}:admin`;
}
