output "eks_cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.eks.cluster_name
}

output "eks_cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "eks_oidc_provider_arn" {
  description = "OIDC provider for IAM roles for service accounts."
  value       = module.eks.oidc_provider_arn
}

output "msk_bootstrap_brokers_sasl_scram" {
  description = "KAFKA_BROKERS for the services (SASL/SCRAM over TLS, port 9096)."
  value       = module.msk.bootstrap_brokers_sasl_scram
}

output "msk_scram_secret_arn" {
  description = "Secrets Manager secret holding the SCRAM username/password."
  value       = module.msk.scram_secret_arn
}

output "redis_primary_endpoint" {
  description = "host:port of the Redis primary (REDIS_TLS_TARGET / redis.tlsProxy.target)."
  value       = "${module.redis.primary_endpoint_address}:${module.redis.port}"
}

output "redis_auth_token" {
  description = "ElastiCache AUTH token: goes into the Secret streamscore-credentials as REDIS_AUTH_TOKEN."
  value       = module.redis.auth_token
  sensitive   = true
}

output "vpc_cidr_block" {
  description = "CIDR for the NetworkPolicy egress rule to Kafka and Redis."
  value       = var.vpc_cidr_block
}

output "ecr_repository_urls" {
  description = "Image repository per service."
  value       = { for k, r in aws_ecr_repository.service : k => r.repository_url }
}

# Drop-in for k8s/overlays/prod/config.env:
#   terraform output -raw k8s_config_env > ../k8s/overlays/prod/config.env
output "k8s_config_env" {
  description = "Environment for the streamscore-config ConfigMap (prod overlay)."
  value       = <<-EOT
    KAFKA_BROKERS=${module.msk.bootstrap_brokers_sasl_scram}
    KAFKA_CONF_SECURITY_PROTOCOL=SASL_SSL
    KAFKA_CONF_SASL_MECHANISMS=SCRAM-SHA-512
    KAFKA_CONF_SSL_CA_LOCATION=/etc/ssl/certs/ca-certificates.crt
    REDIS_TLS_TARGET=${module.redis.primary_endpoint_address}:${module.redis.port}
    LOG_LEVEL=info
  EOT
}

# Values for helm/streamscore:
#   terraform output -raw helm_values > prod-values.yaml
#   helm upgrade --install streamscore helm/streamscore -f prod-values.yaml
output "helm_values" {
  description = "Helm values pointing the chart at this infrastructure."
  value = yamlencode({
    image = {
      registry = trimsuffix(aws_ecr_repository.service["gateway"].repository_url, "/gateway")
    }
    kafka = {
      brokers        = module.msk.bootstrap_brokers_sasl_scram
      existingSecret = "streamscore-credentials"
      conf = {
        "security.protocol" = "SASL_SSL"
        "sasl.mechanisms"   = "SCRAM-SHA-512"
        "ssl.ca.location"   = "/etc/ssl/certs/ca-certificates.crt"
      }
    }
    redis = {
      tlsProxy   = { enabled = var.redis_transit_encryption, target = "${module.redis.primary_endpoint_address}:${module.redis.port}" }
      authSecret = { name = var.redis_transit_encryption ? "streamscore-credentials" : "", key = "REDIS_AUTH_TOKEN" }
    }
    networkPolicy = {
      dependenciesCidr = var.vpc_cidr_block
    }
  })
}

output "kafka_sasl_username" {
  description = "KAFKA_CONF_SASL_USERNAME for the Secret streamscore-credentials."
  value       = module.msk.scram_username
}

output "kafka_sasl_password" {
  description = "KAFKA_CONF_SASL_PASSWORD for the Secret streamscore-credentials."
  value       = module.msk.scram_password
  sensitive   = true
}
