variable "region" {
  description = "AWS region for every resource."
  type        = string
  default     = "eu-west-1"
}

variable "environment" {
  description = "Environment name (prod, staging, ...); part of every resource name."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters, digits or dashes."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------- network
# The VPC is an input: most organisations own it centrally. Subnets are
# private (no public IPs), at least two (three for MSK with 3 brokers) in
# different availability zones.

variable "vpc_id" {
  description = "ID of the VPC everything runs in."
  type        = string
}

variable "vpc_cidr_block" {
  description = "The VPC's CIDR (feeds the Kubernetes NetworkPolicy egress to Kafka/Redis)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be a CIDR such as 10.20.0.0/16."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets (one per AZ) for EKS nodes, MSK brokers and ElastiCache."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "at least two private subnets in different AZs are required."
  }
}

# ---------------------------------------------------------------- EKS

variable "eks_version" {
  description = "Kubernetes version (>= 1.29: native sidecars carry the Redis TLS proxy)."
  type        = string
  default     = "1.30"
}

variable "eks_public_endpoint" {
  description = "Expose the API server publicly (restricted by eks_public_access_cidrs)."
  type        = bool
  default     = false
}

variable "eks_public_access_cidrs" {
  description = "CIDRs allowed to reach a public API endpoint."
  type        = list(string)
  default     = []
}

variable "eks_node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "eks_node_min" {
  description = "Minimum number of nodes."
  type        = number
  default     = 3
}

variable "eks_node_max" {
  description = "Maximum number of nodes."
  type        = number
  default     = 9
}

variable "eks_node_desired" {
  description = "Initial number of nodes (the cluster autoscaler owns it afterwards)."
  type        = number
  default     = 3
}

# ---------------------------------------------------------------- MSK

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster."
  type        = string
  default     = "3.6.0"
}

variable "kafka_broker_count" {
  description = "Number of brokers: a multiple of the number of subnets."
  type        = number
  default     = 3
}

variable "kafka_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m5.large"
}

variable "kafka_ebs_volume_size" {
  description = "Broker storage in GiB."
  type        = number
  default     = 500
}

variable "kafka_default_partitions" {
  description = "num.partitions: bounds each stage's consumer parallelism (and HPA maxReplicas)."
  type        = number
  default     = 6
}

# ---------------------------------------------------------------- ElastiCache

variable "redis_engine_version" {
  description = "Redis engine version."
  type        = string
  default     = "7.1"
}

variable "redis_node_type" {
  description = "ElastiCache node type (memory bounds the feature state)."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_replicas" {
  description = "Read replicas per shard; >= 1 enables automatic failover and Multi-AZ."
  type        = number
  default     = 1
}

variable "redis_transit_encryption" {
  description = "TLS in transit (with an AUTH token). The services reach it through the TLS proxy sidecar (hiredis 0.14 has no TLS)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------- images

variable "services" {
  description = "Service names: one ECR repository each."
  type        = list(string)
  default     = ["ingest", "features", "scorer", "drift", "gateway"]
}
