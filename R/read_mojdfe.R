# read_mojdfe.R: read the published MoJ-DfE tables in R, with the data dictionary's labels.
#
#   source("R/read_mojdfe.R")                # from the project folder (needs the arrow package)
#   mojdfe_tables()                          # published tables: rows, and the run that wrote each
#   cla <- mojdfe_read("cla_clean")          # a data frame; every column labelled
#   attr(cla$cla_placement, "label")         # "Placement type of the episode (CLA_PLACEMENT)"
#   attr(cla$cla_placement, "labels")        # c("Placed for adoption ..." = "A3", ...)
#   table(mojdfe_label_values(cla$cla_placement))
#   mojdfe_read("la_aggregates", warehouse = "//srs/project/warehouse")
#
# Labels follow haven's conventions: attr "label" is the column's description (RStudio's viewer
# shows it), attr "labels" maps label -> code for coded columns (factors stay factors).
# Only base R is needed besides arrow; `reader` can be any function of a Parquet path.

# The project's docs/data_dictionary.csv, found beside this script when it is source()d.
.mojdfe_dictionary <- local({
  script <- unlist(lapply(sys.frames(), function(f) f$ofile))  # source()'s own variable: this file
  root <- if (length(script)) file.path(dirname(script[length(script)]), "..") else "."
  normalizePath(file.path(root, "docs", "data_dictionary.csv"), mustWork = FALSE)
})

# The published snapshot folder: follows `current`, else reads the name in `CURRENT`.
mojdfe_current <- function(warehouse = Sys.getenv("MOJDFE_WAREHOUSE", "data/warehouse")) {
  if (dir.exists(file.path(warehouse, "current"))) {
    return(normalizePath(file.path(warehouse, "current")))
  }
  pointer <- file.path(warehouse, "CURRENT")
  if (file.exists(pointer)) {
    snap <- file.path(warehouse, "snapshots", trimws(readLines(pointer, n = 1, warn = FALSE)))
    if (dir.exists(snap)) return(normalizePath(snap))
  }
  stop("nothing published in ", warehouse, " (no current/ snapshot): run `mojdfe run` first, ",
       "or give the warehouse folder", call. = FALSE)
}

# The tables of the snapshot: table, rows, run_id (the run that wrote it), written (UTC), bytes.
mojdfe_tables <- function(warehouse = Sys.getenv("MOJDFE_WAREHOUSE", "data/warehouse")) {
  tsv <- file.path(mojdfe_current(warehouse), "_snapshot.tsv")
  if (!file.exists(tsv)) stop(tsv, " is missing: publish again with a newer mojdfe", call. = FALSE)
  read.delim(tsv, colClasses = c("character", "numeric", "character", "character", "numeric"))
}

# A named vector c(label = code) from the dictionary's "code=label|code=label".
.mojdfe_codes <- function(codes) {
  pairs <- strsplit(codes, "|", fixed = TRUE)[[1]]
  eq <- regexpr("=", pairs, fixed = TRUE)
  stats::setNames(substr(pairs, 1, eq - 1), substring(pairs, eq + 1))
}

# A published table with the dictionary's labels attached to its columns.
mojdfe_read <- function(table, warehouse = Sys.getenv("MOJDFE_WAREHOUSE", "data/warehouse"),
                        dictionary = .mojdfe_dictionary, reader = arrow::read_parquet) {
  path <- file.path(mojdfe_current(warehouse), paste0(table, ".parquet"))
  if (!file.exists(path)) stop("no table ", table, " in ", dirname(path), call. = FALSE)
  df <- reader(path)
  dict <- read.csv(dictionary, colClasses = "character", na.strings = character(0))
  dict <- dict[dict$table == table & dict$column %in% names(df), ]
  for (i in seq_len(nrow(dict))) {
    col <- dict$column[i]
    attr(df[[col]], "label") <- dict$description[i]
    if (nzchar(dict$codes[i])) attr(df[[col]], "labels") <- .mojdfe_codes(dict$codes[i])
  }
  df
}

# The label of each value of a coded column (the value itself where it has none); a factor stays
# a factor, with its levels in the same order.
mojdfe_label_values <- function(x) {
  codes <- attr(x, "labels")
  label_of <- function(v) ifelse(v %in% codes, names(codes)[match(v, codes)], v)
  if (!is.factor(x)) return(label_of(as.character(x)))
  factor(label_of(as.character(x)), levels = unique(label_of(levels(x))), ordered = is.ordered(x))
}
