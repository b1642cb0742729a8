{{/*
RayCluster spec shared by the RayCluster and the RayJob: a CPU head (no work scheduled on
it) and an autoscaled GPU worker group, all non-root with read-only root filesystems (Ray
writes its session files to /tmp and its object store to /dev/shm, both emptyDirs).
*/}}
{{- define "urtraining.ray.container" -}}
image: {{ include "urtraining.image" .root.Values.ray.image }}
imagePullPolicy: IfNotPresent
env:
  - {name: HOME, value: /tmp}
  - {name: RAY_USAGE_STATS_ENABLED, value: "0"}
resources:
  {{- toYaml .resources | nindent 2 }}
securityContext:
  {{- toYaml .root.Values.containerSecurityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  - name: dshm
    mountPath: /dev/shm
{{- end -}}

{{- define "urtraining.ray.podCommon" -}}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 20Gi
  - name: dshm
    emptyDir:
      medium: Memory
      sizeLimit: {{ .shmSize }}
{{- end -}}

{{- define "urtraining.ray.clusterSpec" -}}
{{- $ray := .Values.ray -}}
rayVersion: {{ $ray.rayVersion | quote }}
enableInTreeAutoscaling: true
headGroupSpec:
  rayStartParams:
    # Keep the head free for GCS and the dashboard; work goes to the GPU workers.
    num-cpus: "0"
    dashboard-host: 0.0.0.0
  template:
    metadata:
      labels:
        {{- include "urtraining.podLabels" (dict "root" $ "component" "ray") | nindent 8 }}
    spec:
      {{- include "urtraining.ray.podCommon" (dict "root" $ "shmSize" "1Gi") | nindent 6 }}
      containers:
        - name: ray-head
          {{- include "urtraining.ray.container" (dict "root" $ "resources" $ray.head.resources) | nindent 10 }}
          ports:
            - {name: gcs, containerPort: 6379, protocol: TCP}
            - {name: dashboard, containerPort: 8265, protocol: TCP}
            - {name: client, containerPort: 10001, protocol: TCP}
workerGroupSpecs:
  - groupName: gpu
    minReplicas: {{ $ray.gpuWorkers.minReplicas }}
    maxReplicas: {{ $ray.gpuWorkers.maxReplicas }}
    replicas: {{ $ray.gpuWorkers.minReplicas }}
    rayStartParams: {}
    template:
      metadata:
        labels:
          {{- include "urtraining.podLabels" (dict "root" $ "component" "ray") | nindent 10 }}
      spec:
        {{- include "urtraining.ray.podCommon" (dict "root" $ "shmSize" $ray.gpuWorkers.shmSize) | nindent 8 }}
        # Workers never call the Kubernetes API.
        automountServiceAccountToken: false
        {{- with $ray.gpuWorkers.nodeSelector }}
        nodeSelector:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        {{- with $ray.gpuWorkers.tolerations }}
        tolerations:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        containers:
          - name: ray-worker
            {{- include "urtraining.ray.container" (dict "root" $ "resources" $ray.gpuWorkers.resources) | nindent 12 }}
{{- end -}}

{{/* Accepted checkov findings for Ray pods. */}}
{{- define "urtraining.ray.skips" -}}
{{- $skips := include "urtraining.imageSkips" (dict "image" .Values.ray.image) | fromJsonArray -}}
{{- $skips = append $skips "CKV_K8S_8=KubeRay adds its own liveness probes to Ray head and worker containers" -}}
{{- $skips = append $skips "CKV_K8S_9=KubeRay adds its own readiness probes to Ray head and worker containers" -}}
{{- $skips = append $skips "CKV_K8S_38=the head's Ray autoscaler sidecar calls the Kubernetes API with the token (workers mount none)" -}}
{{- include "urtraining.checkovSkips" $skips | trim -}}
{{- end -}}
