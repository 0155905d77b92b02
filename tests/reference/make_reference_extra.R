#!/usr/bin/env Rscript
## make_reference_extra.R -- frozen reference values for the additions of
## issue 14: pROC coords at tied thresholds, CombiROC threshold-rule panels,
## cmprsk competing risks and stratified Cox.
##
## Run from this folder:   Rscript make_reference_extra.R
## Needs, besides make_reference.R's packages: r-cran-cmprsk (Debian) and
## CombiROC 0.3.4 installed from ../../shared/anchors/R-sources (see README.md).
## Same rules as make_reference.R: data are written to data/*.csv first, read
## back, and every value is computed from the re-read data.

suppressPackageStartupMessages({
  library(pROC)
  library(survival)
  library(cmprsk)
  library(combiroc)
  library(jsonlite)
})

if (!file.exists("make_reference_extra.R")) {
  stop("run this script from tests/reference/ (Rscript make_reference_extra.R)")
}
source("json_writer.R")
GEN <- "tests/reference/make_reference_extra.R"

## ---------------------------------------------------------------------------
## 1. pROC coords at user-given thresholds that equal data values (ties)
## ---------------------------------------------------------------------------
asah <- read_data("asah.csv")
ties <- read_data("roc_ties.csv")
coords_at <- function(response, predictor, levels, direction, thresholds) {
  r <- roc(response, predictor, levels = levels, direction = direction, quiet = TRUE)
  cc <- coords(r, x = thresholds, input = "threshold", transpose = FALSE,
               ret = c("threshold", "specificity", "sensitivity", "tn", "tp", "fn", "fp"))
  list(direction_arg = direction, direction = r$direction,
       threshold = A(cc$threshold), specificity = A(cc$specificity),
       sensitivity = A(cc$sensitivity), tn = A(cc$tn), tp = A(cc$tp),
       fn = A(cc$fn), fp = A(cc$fp))
}
## thresholds: data values (ties) and one value between data values
s100b_t <- c(0.05, 0.08, 0.13, 0.205, 0.31, 0.52)
ndka_t <- c(5.0, 9.97, 11.47, 25.0)
wfns_t <- c(1, 2, 3, 4, 5, 4.5)
tie_t <- c(1, 2, 3, 4, 5)
items <- list(
  list(file = "data/asah.csv", marker = "s100b", thresholds = s100b_t),
  list(file = "data/asah.csv", marker = "ndka", thresholds = ndka_t),
  list(file = "data/asah.csv", marker = "wfns", thresholds = wfns_t),
  list(file = "data/roc_ties.csv", marker = "marker1", thresholds = tie_t),
  list(file = "data/roc_ties.csv", marker = "marker2", thresholds = tie_t)
)
out <- list()
for (it in items) {
  df <- if (it$file == "data/asah.csv") asah else ties
  lev <- if (it$file == "data/asah.csv") c("Good", "Poor") else c(0, 1)
  for (d in c("<", ">", "auto")) {
    o <- coords_at(df$outcome, as.numeric(df[[it$marker]]), lev, d, it$thresholds)
    out[[length(out) + 1]] <- c(list(file = it$file, marker = it$marker, levels = A(lev)), o)
  }
}
write_fixture(list(
  meta = meta(c("data/asah.csv", "data/roc_ties.csv"), generator = GEN),
  note = "coords(roc, x, input = 'threshold'): a value equal to the threshold is positive",
  coords = out
), "proc_coords_ties.json")

## ---------------------------------------------------------------------------
## 2. CombiROC threshold-rule panels (combi + ranked_combs)
## ---------------------------------------------------------------------------
data(demo_data, package = "combiroc")
write_csv(demo_data, "combiroc_demo.csv")
cdemo <- read_data("combiroc_demo.csv")
combi_case <- function(signalthr, combithr, max_length, min_SE, min_SP) {
  tab <- combi(cdemo, signalthr = signalthr, combithr = combithr,
               max_length = max_length, case_class = "A")
  ranked <- ranked_combs(tab, min_SE = min_SE, min_SP = min_SP)$table
  ## full ranking (all combinations, not only those meeting the minimums)
  full <- tab
  full$Youden <- ((full$SE + full$SP) / 100) - 1
  full <- full[order(-full$Youden), ]
  list(
    signalthr = signalthr, combithr = combithr,
    max_length = if (is.null(max_length)) NULL else max_length,
    min_SE = min_SE, min_SP = min_SP, case_class = "A", control_class = "B",
    combi = list(
      markers = A(tab$Markers),
      positives_case = A(tab[["#Positives A"]]),
      positives_control = A(tab[["#Positives B"]]),
      se = A(tab$SE), sp = A(tab$SP), n_markers = A(tab$n_markers)
    ),
    ranked_all = list(markers = A(full$Markers), youden = A(full$Youden)),
    ranked_combs = list(markers = A(ranked$Markers), se = A(ranked$SE), sp = A(ranked$SP),
                        youden = A(ranked$Youden))
  )
}
cases <- list(
  combi_case(450, 1, NULL, 40, 80),        # the CombiROC vignette's settings
  combi_case(407, 2, 3, 60, 70),
  combi_case(438, 1, 2, 0, 0),             # 438 is a data value (tie: >= counts positive)
  combi_case(300, 3, NULL, 50, 50)
)
write_fixture(list(
  meta = meta("data/combiroc_demo.csv", generator = GEN,
              packages = c("combiroc", "pROC", "jsonlite")),
  data = list(file = "data/combiroc_demo.csv", id = "Patient.ID", class = "Class",
              markers = A(colnames(cdemo)[3:ncol(cdemo)])),
  cases = cases
), "combiroc_demo.json")
