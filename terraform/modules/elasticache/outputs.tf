output "primary_endpoint_address" {
  description = "DNS name of the primary."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "Redis port."
  value       = aws_elasticache_replication_group.this.port
}

output "auth_token" {
  description = "AUTH token (null without transit encryption)."
  value       = var.transit_encryption ? random_password.auth.result : null
  sensitive   = true
}

output "security_group_id" {
  description = "Security group of the cache nodes."
  value       = aws_security_group.redis.id
}
