# The classic sticky-session tier: a sticky proxy on server2 in front of two
# app servers whose sessions are cross-stored in the caches of the other
# host, so losing an app server, or its whole host, loses no session.
#
# The defaults point at the local lab (`stickyform lab up`); to deploy on
# real machines set the address, user, key and known_hosts variables, e.g.
#   stickyform apply -var proxy_address=10.0.0.2 -var key=~/.ssh/id_ed25519

variable "proxy_address" {
  description = "Address of the proxy host (server2)."
  default     = "172.25.1.2"
}

variable "app1_address" {
  description = "Address of the first app and cache host (server3)."
  default     = "172.25.1.3"
}

variable "app2_address" {
  description = "Address of the second app and cache host (server4)."
  default     = "172.25.1.4"
}

variable "user" {
  description = "SSH user on every host; non-root users need passwordless sudo."
  default     = "root"
}

variable "key" {
  description = "SSH private key used to log in."
  default     = "/var/lib/stickyform-lab/id_ed25519"
}

variable "known_hosts" {
  description = "known_hosts file holding the hosts' keys."
  default     = "/var/lib/stickyform-lab/known_hosts"
}

locals {
  ssh_user = var.user
}

host "server2" {
  address       = var.proxy_address
  user          = local.ssh_user
  identity_file = var.key
  known_hosts   = var.known_hosts
}

host "server3" {
  address       = var.app1_address
  user          = local.ssh_user
  identity_file = var.key
  known_hosts   = var.known_hosts
}

host "server4" {
  address       = var.app2_address
  user          = local.ssh_user
  identity_file = var.key
  known_hosts   = var.known_hosts
}

cache "n1" {
  host      = host.server3
  port      = 11211
  memory_mb = 64
  engine    = "builtin"
}

cache "n2" {
  host = host.server4
}

app "tomcat1" {
  host = host.server3
  port = 8080
  session {
    cookie  = "JSESSIONID"
    timeout = "30m"
    mode    = "sticky"
    nodes   = [cache.n1, cache.n2]
    # failover_nodes defaults to [cache.n1], the cache on this app's host
  }
}

app "tomcat2" {
  host = host.server4
  port = 8080
  session {
    nodes = [cache.n1, cache.n2] # failover_nodes defaults to [cache.n2]
  }
}

proxy "lb" {
  host     = host.server2
  listen   = 80
  backends = [app.tomcat1, app.tomcat2]
  sticky {
    name     = "route"
    hash     = "md5"
    expires  = "1h"
    httponly = true
  }
  health_check {
    path     = "/health"
    interval = "2s"
    fall     = 3
    rise     = 2
  }
}

output "url" {
  description = "Where the tier answers."
  value       = "http://${host.server2.address}/"
}
