## json_writer.R -- helpers shared by the fixture generators in this folder
## (make_reference.R, make_reference_extra.R): a JSON writer with full
## round-trip precision, warning capture, fixture metadata, CSV in/out.

## ---------------------------------------------------------------------------
## Minimal JSON writer with full (round-trip) precision.
## Atomic vectors of length 1 become scalars unless wrapped in A() (or I()).
## Named lists become objects, unnamed lists become arrays.
## ---------------------------------------------------------------------------
A <- function(x) I(as.vector(x))

num_str <- function(x) {
  x <- as.numeric(x)
  out <- character(length(x))
  nas <- is.na(x)
  out[nas] <- "null"
  out[!nas & x == Inf] <- "\"Inf\""
  out[!nas & x == -Inf] <- "\"-Inf\""
  ok <- !nas & is.finite(x)
  v <- x[ok]
  s <- sprintf("%.15g", v)
  bad <- as.numeric(s) != v
  s[bad] <- sprintf("%.16g", v[bad])
  bad <- as.numeric(s) != v
  s[bad] <- sprintf("%.17g", v[bad])
  s <- sub("^-0$", "0", s)
  out[ok] <- s
  out
}

json_str <- function(x) {
  x <- gsub("\\", "\\\\", x, fixed = TRUE)
  x <- gsub("\"", "\\\"", x, fixed = TRUE)
  x <- gsub("\n", "\\n", x, fixed = TRUE)
  x <- gsub("\t", "\\t", x, fixed = TRUE)
  paste0("\"", x, "\"")
}

to_json <- function(x, indent = 0) {
  pad <- strrep("  ", indent + 1)
  padc <- strrep("  ", indent)
  if (is.null(x)) return("null")
  if (is.list(x) && !is.data.frame(x)) {
    named <- !is.null(names(x))
    if (length(x) == 0) return(if (named) "{}" else "[]")
    items <- vapply(x, to_json, "", indent = indent + 1, USE.NAMES = FALSE)
    if (named) {
      if (any(names(x) == "") || anyDuplicated(names(x)))
        stop("bad/duplicated names in list: ", paste(names(x), collapse = ","))
      items <- paste0(json_str(names(x)), ": ", items)
      return(paste0("{\n", paste0(pad, items, collapse = ",\n"), "\n", padc, "}"))
    }
    return(paste0("[\n", paste0(pad, items, collapse = ",\n"), "\n", padc, "]"))
  }
  if (is.data.frame(x)) stop("convert data.frames explicitly")
  as_array <- inherits(x, "AsIs") || length(x) != 1
  if (is.factor(x)) x <- as.character(x)
  x <- unclass(x)
  attributes(x) <- NULL
  vals <- if (is.logical(x)) {
    ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else if (is.numeric(x)) {
    num_str(x)
  } else if (is.character(x)) {
    ifelse(is.na(x), "null", json_str(x))
  } else stop("unsupported type: ", typeof(x))
  if (as_array) paste0("[", paste(vals, collapse = ", "), "]") else vals
}

write_fixture <- function(obj, name) {
  path <- file.path("fixtures", name)
  txt <- to_json(obj)
  writeLines(txt, path, useBytes = TRUE)
  invisible(jsonlite::fromJSON(path, simplifyVector = FALSE))  # validates
  cat(sprintf("wrote %-32s %9d bytes\n", path, file.size(path)))
}

## capture warnings (recorded in the fixtures) instead of printing them
capture <- function(expr) {
  w <- character()
  val <- withCallingHandlers(expr, warning = function(c) {
    w <<- c(w, conditionMessage(c))
    invokeRestart("muffleWarning")
  })
  list(value = val, warnings = w)
}

meta <- function(data_files, extra = list(), generator = "tests/reference/make_reference.R",
                 packages = c("pROC", "survival", "jsonlite")) {
  pk <- lapply(packages, function(p) as.character(packageVersion(p)))
  names(pk) <- packages
  c(list(
    generator = generator,
    R_version = R.version.string,
    packages = pk,
    RNGkind = A(RNGkind()),
    data_files = A(data_files)
  ), extra)
}

write_csv <- function(df, name) {
  write.csv(df, file.path("data", name), row.names = FALSE, na = "", quote = FALSE)
  cat(sprintf("wrote data/%s (%d rows)\n", name, nrow(df)))
}
read_data <- function(name) read.csv(file.path("data", name), na.strings = "")

