variable "name" {
  description = "Cluster name and resource name prefix."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the brokers."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the brokers (one per AZ)."
  type        = list(string)
}

variable "kafka_version" {
  description = "Apache Kafka version."
  type        = string
}

variable "broker_count" {
  description = "Number of broker nodes (a multiple of the subnet count)."
  type        = number
}

variable "instance_type" {
  description = "Broker instance type."
  type        = string
}

variable "ebs_volume_size" {
  description = "Storage per broker in GiB."
  type        = number
}

variable "default_partitions" {
  description = "num.partitions for topics created without an explicit count."
  type        = number
  default     = 6
}

variable "allowed_security_group_ids" {
  description = "Security groups (EKS nodes) allowed to reach the brokers."
  type        = list(string)
}

variable "scram_username" {
  description = "SASL/SCRAM user of the streamscore services."
  type        = string
  default     = "streamscore"
}

variable "log_retention_days" {
  description = "CloudWatch retention of broker logs."
  type        = number
  default     = 14
}
