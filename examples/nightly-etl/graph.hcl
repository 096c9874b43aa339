# Nightly ETL: extract the day's data from three sources, join and
# aggregate it in memory, load the result into the warehouse, and write a
# report.
#
#   extract_orders    \
#   extract_customers  -> join -> aggregate -> load
#   extract_inventory /                    \-> report (after load)
#
# Every command is /bin/sh with a short script that stands in for the real
# tool: it sleeps briefly and writes its outputs with dd.

variable "day" {
  type        = string
  default     = "2025-01-01"
  description = "The day to process, YYYY-MM-DD."
}

variable "warehouse" {
  type    = string
  default = "postgres://warehouse.internal/analytics"
}

graph "nightly-etl" {
  datacenters = ["dc1"]
  namespace   = "default"
  priority    = 40
  driver      = "raw_exec"

  task "extract_orders" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 1 && mkdir -p out && dd if=/dev/zero of=out/orders bs=1048576 count=24 2>/dev/null"]
    env       = { DAY = var.day, SOURCE = "orders" }
    signature = "extract"

    output "orders" {
      size = "24MiB"
    }

    hints {
      kind    = "io"
      runtime = "1m"
    }
  }

  task "extract_customers" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 1 && mkdir -p out && dd if=/dev/zero of=out/customers bs=1048576 count=8 2>/dev/null"]
    env       = { DAY = var.day, SOURCE = "customers" }
    signature = "extract"

    output "customers" {
      size = "8MiB"
    }

    hints {
      kind    = "io"
      runtime = "30s"
    }
  }

  task "extract_inventory" {
    command   = "/bin/sh"
    args      = ["-c", "sleep 1 && mkdir -p out && dd if=/dev/zero of=out/inventory bs=1048576 count=16 2>/dev/null"]
    env       = { DAY = var.day, SOURCE = "inventory" }
    signature = "extract"

    output "inventory" {
      size = "16MiB"
    }

    hints {
      kind    = "io"
      runtime = "45s"
    }
  }

  task "join" {
    command = "/bin/sh"
    args    = ["-c", "ls -l in/ 2>/dev/null; sleep 2 && mkdir -p out && dd if=/dev/zero of=out/joined bs=1048576 count=48 2>/dev/null"]

    input {
      from = task.extract_orders.output.orders
    }

    input {
      from = task.extract_customers.output.customers
    }

    input {
      from = task.extract_inventory.output.inventory
    }

    output "joined" {
      size = "48MiB"
    }

    hints {
      kind     = "memory"
      memory   = "8GiB"
      runtime  = "5m"
      executor = "memory-intensive"
    }
  }

  task "aggregate" {
    command = "/bin/sh"
    args    = ["-c", "sleep 2 && mkdir -p out && dd if=/dev/zero of=out/daily bs=1048576 count=4 2>/dev/null"]

    input {
      from = task.join.output.joined
    }

    output "daily" {
      size = "4MiB"
    }

    hints {
      kind    = "memory"
      memory  = "6GiB"
      runtime = "3m"
    }
  }

  task "load" {
    command = "/bin/sh"
    args    = ["-c", "ls -l in/ 2>/dev/null; sleep 2 && echo loaded into $WAREHOUSE"]
    env     = { WAREHOUSE = var.warehouse, DAY = var.day }

    input {
      from = task.aggregate.output.daily
    }

    hints {
      kind    = "io"
      runtime = "2m"
    }
  }

  task "report" {
    command    = "/bin/sh"
    args       = ["-c", "sleep 1 && mkdir -p out && echo \"report for ${var.day}\" > out/report"]
    depends_on = [task.load]

    input {
      from = task.aggregate.output.daily
    }

    output "report" {
      size = "22B"
    }

    hints {
      kind    = "cpu"
      runtime = "20s"
    }
  }
}
