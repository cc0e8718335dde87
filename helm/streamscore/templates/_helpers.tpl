{{/* Name of the release's objects: <release>-<chart> unless the release already says streamscore. */}}
{{- define "streamscore.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Common labels; call with (dict "root" $ "svc" "scorer") or the root context. */}}
{{- define "streamscore.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: streamscore
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{- if .svc }}
{{ include "streamscore.selectorLabels" . }}
app.kubernetes.io/component: {{ .svc }}
{{- else }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}
{{- end -}}

{{- define "streamscore.selectorLabels" -}}
app.kubernetes.io/name: streamscore-{{ .svc }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Object name for one service: <fullname>-<svc>. */}}
{{- define "streamscore.svcName" -}}
{{- printf "%s-%s" (include "streamscore.fullname" .root) .svc -}}
{{- end -}}

{{- define "streamscore.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .svc (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{- define "streamscore.apiKeysSecret" -}}
{{- default (printf "%s-gateway-api-keys" (include "streamscore.fullname" .)) .Values.gateway.apiKeys.existingSecret -}}
{{- end -}}
