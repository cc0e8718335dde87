output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers_sasl_scram" {
  description = "Comma-separated host:9096 list for SASL/SCRAM over TLS."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "security_group_id" {
  description = "Security group of the brokers."
  value       = aws_security_group.msk.id
}

output "scram_secret_arn" {
  description = "Secrets Manager secret with the services' SCRAM username and password."
  value       = aws_secretsmanager_secret.scram.arn
}

output "scram_username" {
  description = "SCRAM username (KAFKA_CONF_SASL_USERNAME)."
  value       = var.scram_username
}

output "scram_password" {
  description = "SCRAM password (KAFKA_CONF_SASL_PASSWORD)."
  value       = random_password.scram.result
  sensitive   = true
}
