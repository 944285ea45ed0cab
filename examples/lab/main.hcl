# The lab tier with any number of app hosts, written with count: a proxy on
# server2 (172.25.1.2) and var.app_hosts hosts from 172.25.1.3 that each run
# an app and a cache, sessions cross-stored on the next host's cache.
#
#   stickyform lab up -hosts 12
#   stickyform -chdir=examples/lab apply -var app_hosts=11

variable "app_hosts" {
  description = "Number of app and cache hosts (the lab has hosts .2 to .N+2)."
  type        = number
  default     = 2
}

variable "key" {
  default = "/var/lib/stickyform-lab/id_ed25519"
}

variable "known_hosts" {
  default = "/var/lib/stickyform-lab/known_hosts"
}

host "proxy" {
  address       = "172.25.1.2"
  identity_file = var.key
  known_hosts   = var.known_hosts
}

host "server" {
  count         = var.app_hosts
  address       = "172.25.1.${count.index + 3}"
  identity_file = var.key
  known_hosts   = var.known_hosts
}

cache "n" {
  count = var.app_hosts
  host  = host.server[count.index]
}

app "tomcat" {
  count = var.app_hosts
  host  = host.server[count.index]
  session {
    # with one host, its own cache is the only node
    nodes = distinct([cache.n[count.index], cache.n[(count.index + 1) % var.app_hosts]])
  }
}

proxy "lb" {
  host     = host.proxy
  backends = app.tomcat[*]
  sticky {
    expires = "1h"
  }
}

output "url" {
  value = proxy.lb.url
}
