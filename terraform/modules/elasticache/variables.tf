variable "name" {
  description = "Replication group id and resource name prefix."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cache nodes."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the cache nodes."
  type        = list(string)
}

variable "engine_version" {
  description = "Redis engine version."
  type        = string
}

variable "node_type" {
  description = "Cache node type."
  type        = string
}

variable "replicas" {
  description = "Read replicas of the primary (cluster mode disabled)."
  type        = number

  validation {
    condition     = var.replicas >= 0 && var.replicas <= 5
    error_message = "replicas must be between 0 and 5."
  }
}

variable "transit_encryption" {
  description = "TLS in transit plus an AUTH token."
  type        = bool
  default     = true
}

variable "allowed_security_group_ids" {
  description = "Security groups (EKS nodes) allowed to reach Redis."
  type        = list(string)
}

variable "snapshot_retention_days" {
  description = "Daily snapshots kept (feature state can be rebuilt from Kafka, but slowly)."
  type        = number
  default     = 7
}
