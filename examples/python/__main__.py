"""Airflow for the data-science team, from Python, with the airflow-kubernetes component package.

The cluster comes from the platform's infrastructure stack: the component reads its `kubeconfig`
output (infrastructure.stack), so this program needs no Kubernetes SDK.
"""
import pulumi
import airflow_pulumi_airflow_kubernetes as airflow

config = pulumi.Config()

deployment = airflow.AirflowOnKubernetes(
    "airflow",
    namespace="data-science",
    infrastructure=airflow.InfrastructureArgs(
        stack=config.get("infrastructureStack") or "acme/infrastructure/prod",
    ),
    # The team's task image, built and pushed by its own repository's CI (pinned by digest in production).
    images=airflow.ImagesArgs(task_images={"training": "europe-docker.pkg.dev/acme/data-science/training:1.4.0"}),
    scheduler=airflow.SchedulerArgs(replicas=2),
    api_server=airflow.ApiServerArgs(replicas=2),
    # Every component's resources are a ContainerResourcesArgs; unset quantities keep that component's defaults.
    workers=airflow.WorkersArgs(
        resources=airflow.ContainerResourcesArgs(
            limits=airflow.ResourceQuantitiesArgs(cpu="4", memory="16Gi"),
        ),
    ),
    git_sync=airflow.GitSyncArgs(enabled=True, repo="https://github.com/acme/data-science-dags.git", sub_path="dags"),
)

pulumi.export("namespace", deployment.namespace)
pulumi.export("ui_url", deployment.ui_url)
pulumi.export("admin_password", deployment.admin_password)
