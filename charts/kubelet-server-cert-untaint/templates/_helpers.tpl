{{/* The name of the objects' kind of thing: the chart's, or nameOverride. */}}
{{- define "kscu.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Every object's name: the release name if it already contains the chart's, or fullnameOverride. */}}
{{- define "kscu.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Immutable: what the DaemonSet selects its pods by. */}}
{{- define "kscu.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kscu.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kscu.labels" -}}
{{ include "kscu.selectorLabels" . }}
app.kubernetes.io/part-of: kubelet-server-cert-untaint
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
A duration value as the agent reads it: a bare number is seconds (the Go sample's values), anything
else is passed as written (the schema has checked it).
*/}}
{{- define "kscu.duration" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ int64 . }}{{- end -}}
{{- end -}}

{{/*
The lowest CPU limit the chart applies. Under a CFS quota of 10m (the Go sample's values) the JVM takes
about 37 s just to read its settings, 3 s under 100m: a lower limit is raised to this one, and NOTES.txt
says so. docs/install.md has the measurements.
*/}}
{{- define "kscu.cpuFloorMillis" -}}200{{- end -}}

{{/* A CPU quantity ("10m", "0.5", 1) in millicores. */}}
{{- define "kscu.millicores" -}}
{{- $q := toString . -}}
{{- if hasSuffix "m" $q -}}{{ trimSuffix "m" $q | float64 }}{{- else -}}{{ mulf (float64 $q) 1000 }}{{- end -}}
{{- end -}}

{{/* True (non-empty) when resources.limits.cpu is set below kscu.cpuFloorMillis. */}}
{{- define "kscu.cpuLimitRaised" -}}
{{- $cpu := dig "limits" "cpu" "" (.Values.resources | default dict) -}}
{{- if and $cpu (lt (include "kscu.millicores" $cpu | float64) (include "kscu.cpuFloorMillis" . | float64)) -}}true{{- end -}}
{{- end -}}

{{/* The container's resources: as given, with a CPU limit below the floor raised to it. */}}
{{- define "kscu.resources" -}}
{{- $r := deepCopy (.Values.resources | default dict) -}}
{{- if include "kscu.cpuLimitRaised" . -}}
{{- $_ := set $r.limits "cpu" (printf "%sm" (include "kscu.cpuFloorMillis" .)) -}}
{{- end -}}
{{- toYaml $r -}}
{{- end -}}

{{/* TAINT_KEY: nodeReadinessController.taintKey when NRC removes the taint, else taintKey. */}}
{{- define "kscu.taintKey" -}}
{{- if .Values.nodeReadinessController.enabled -}}{{ .Values.nodeReadinessController.taintKey }}{{- else -}}{{ .Values.taintKey }}{{- end -}}
{{- end -}}

{{/* NODE_CONDITION, as components/node-condition and components/node-readiness-controller set it. */}}
{{- define "kscu.nodeCondition" -}}
{{- if .Values.nodeReadinessController.enabled -}}reporter-only{{- else if .Values.nodeCondition.enabled -}}on{{- else -}}off{{- end -}}
{{- end -}}
