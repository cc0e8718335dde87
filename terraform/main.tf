# streamscore infrastructure on AWS: an EKS cluster for the services, Amazon
# MSK for Kafka (SASL/SCRAM over TLS) and ElastiCache for Redis (TLS + AUTH),
# inside an existing VPC. Outputs feed k8s/overlays/prod and the Helm chart.

locals {
  name = "streamscore-${var.environment}"
}

module "eks" {
  source = "./modules/eks"

  name                = local.name
  kubernetes_version  = var.eks_version
  subnet_ids          = var.private_subnet_ids
  public_endpoint     = var.eks_public_endpoint
  public_access_cidrs = var.eks_public_access_cidrs
  node_instance_types = var.eks_node_instance_types
  node_min            = var.eks_node_min
  node_max            = var.eks_node_max
  node_desired        = var.eks_node_desired
}

module "msk" {
  source = "./modules/msk"

  name                       = local.name
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.private_subnet_ids
  kafka_version              = var.kafka_version
  broker_count               = var.kafka_broker_count
  instance_type              = var.kafka_instance_type
  ebs_volume_size            = var.kafka_ebs_volume_size
  default_partitions         = var.kafka_default_partitions
  allowed_security_group_ids = [module.eks.cluster_security_group_id]
}

module "redis" {
  source = "./modules/elasticache"

  name                       = local.name
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.private_subnet_ids
  engine_version             = var.redis_engine_version
  node_type                  = var.redis_node_type
  replicas                   = var.redis_replicas
  transit_encryption         = var.redis_transit_encryption
  allowed_security_group_ids = [module.eks.cluster_security_group_id]
}

# One repository per service image (the one Dockerfile, SERVICE build arg).
resource "aws_ecr_repository" "service" {
  for_each = toset(var.services)

  name                 = "streamscore/${each.value}"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_ecr_lifecycle_policy" "service" {
  for_each   = aws_ecr_repository.service
  repository = each.value.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the last 50 images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 50
      }
      action = { type = "expire" }
    }]
  })
}
