variable "name" {
  description = "Cluster name and resource name prefix."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the control plane ENIs and the nodes."
  type        = list(string)
}

variable "public_endpoint" {
  description = "Expose the API server endpoint publicly."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to a public endpoint."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
}

variable "node_min" {
  description = "Minimum nodes."
  type        = number
}

variable "node_max" {
  description = "Maximum nodes."
  type        = number
}

variable "node_desired" {
  description = "Initial nodes."
  type        = number
}

variable "log_retention_days" {
  description = "CloudWatch retention of control plane logs."
  type        = number
  default     = 30
}
