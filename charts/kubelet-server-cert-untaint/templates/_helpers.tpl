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
