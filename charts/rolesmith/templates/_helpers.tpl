{{- define "rolesmith.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rolesmith.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rolesmith.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rolesmith.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "rolesmith.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "rolesmith.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: rolesmith
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "rolesmith.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rolesmith.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Two replicas without a Lease would reconcile the same roles twice: more than one forces it on. */}}
{{- define "rolesmith.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) }}true{{ else }}false{{ end }}
{{- end }}

{{- define "rolesmith.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
What the operator needs of RoleGuardrails: list+watch to follow them, server-side apply of their
status.
*/}}
{{- define "rolesmith.guardrailRules" -}}
- apiGroups: ["iam.rolesmith.dev"]
  resources: ["roleguardrails"]
  verbs: ["list", "watch"]
- apiGroups: ["iam.rolesmith.dev"]
  resources: ["roleguardrails/status"]
  verbs: ["patch"]
{{- end }}
