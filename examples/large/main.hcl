# A 24-host tier in one short file: a sticky proxy on server2 in front of 23
# hosts (server3 .. server25) that each run an app and a cache. Every app
# stores its sessions on its own cache and on the next host's (a ring), and
# keeps its own only for failover: the classic cross storage, scaled out.
#
# For the lab: stickyform lab up -hosts 24

variable "subnet" {
  description = "First three octets of the hosts' addresses."
  default     = "172.25.1"
}

variable "app_hosts" {
  description = "Number of app and cache hosts, after the proxy host."
  type        = number
  default     = 23
}

variable "user" {
  default = "root"
}

variable "key" {
  default = "/var/lib/stickyform-lab/id_ed25519"
}

variable "known_hosts" {
  default = "/var/lib/stickyform-lab/known_hosts"
}

locals {
  names = [for i in range(3, 3 + var.app_hosts) : "server${i}"]
  # each host's neighbour in the ring, which holds its sessions
  next = { for i, n in local.names : n => local.names[(i + 1) % length(local.names)] }
}

host "server2" {
  address       = "${var.subnet}.2"
  user          = var.user
  identity_file = var.key
  known_hosts   = var.known_hosts
}

host "app" {
  for_each      = { for n in local.names : n => "${var.subnet}.${trimprefix(n, "server")}" }
  address       = each.value
  user          = var.user
  identity_file = var.key
  known_hosts   = var.known_hosts
}

cache "n" {
  for_each = host.app
  host     = each.value
}

app "web" {
  for_each = host.app
  host     = each.value
  session {
    nodes = [cache.n[each.key], cache.n[local.next[each.key]]]
  }
}

proxy "lb" {
  host     = host.server2
  backends = values(app.web)
  sticky {
    expires = "1h"
  }
}

output "url" {
  value = proxy.lb.url
}

output "backends" {
  value = [for a in app.web : a.endpoint]
}
