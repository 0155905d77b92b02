#!/usr/bin/env Rscript
## make_reference.R -- frozen reference values for exoniche's Python tests.
##
## Run from this folder:   Rscript make_reference.R
##
## 1. writes the input data sets to data/*.csv (aSAH from pROC, lung from
##    survival, and synthetic sets drawn with fixed seeds);
## 2. READS THOSE CSV FILES BACK and computes every reference value from the
##    re-read data, so Python tests that read the same CSV files see exactly
##    the same numbers R used;
## 3. writes fixtures/*.json (see README.md for the key structure).
##
## Numbers are written with the shortest decimal representation that
## round-trips to the same IEEE double (up to 17 significant digits).
## NA/NaN -> null, +Inf -> "Inf", -Inf -> "-Inf" (Python: float("Inf")).

suppressPackageStartupMessages({
  library(pROC)
  library(survival)
  library(jsonlite)   # only used to validate the JSON written below
})

if (!file.exists("make_reference.R")) {
  stop("run this script from tests/reference/ (Rscript make_reference.R)")
}
dir.create("data", showWarnings = FALSE)
dir.create("fixtures", showWarnings = FALSE)

source("json_writer.R")   # to_json, write_fixture, capture, meta, write_csv, read_data

## ---------------------------------------------------------------------------
## 1. Data sets
## ---------------------------------------------------------------------------
data(aSAH, package = "pROC")
asah_out <- data.frame(
  gos6 = as.integer(as.character(aSAH$gos6)),
  outcome = as.character(aSAH$outcome),
  gender = as.character(aSAH$gender),
  age = aSAH$age,
  wfns = as.integer(as.character(aSAH$wfns)),
  s100b = aSAH$s100b,
  ndka = aSAH$ndka
)
write_csv(asah_out, "asah.csv")

lung0 <- survival::lung
write_csv(lung0, "lung.csv")

## roc_ties: n = 60, integer scores 1..5 (heavy ties), two markers, outcome 0/1
set.seed(20240501)
n <- 60
y <- rbinom(n, 1, 0.45)
z <- rnorm(n)
m1 <- pmin(5, pmax(1, round(2.6 + 1.1 * y + 0.6 * z + rnorm(n, sd = 0.9))))
m2 <- pmin(5, pmax(1, round(2.8 + 0.6 * y + 0.6 * z + rnorm(n, sd = 0.9))))
write_csv(data.frame(outcome = as.integer(y), marker1 = as.integer(m1),
                     marker2 = as.integer(m2)), "roc_ties.csv")

## roc_big: n = 2000, three continuous correlated markers (marker3 is
## inversely related to outcome, so direction="auto" picks ">")
set.seed(20240502)
n <- 2000
y <- rbinom(n, 1, 0.3)
z <- rnorm(n)
big <- data.frame(
  outcome = as.integer(y),
  marker1 = round(1.0 * y + 0.7 * z + rnorm(n), 6),
  marker2 = round(0.6 * y + 0.7 * z + rnorm(n), 6),
  marker3 = round(-0.5 * y + 0.5 * z + rnorm(n), 6)
)
write_csv(big, "roc_big.csv")

## roc_unpaired: two independent samples A (n = 90) and B (n = 110)
set.seed(20240503)
yA <- rbinom(90, 1, 0.4)
yB <- rbinom(110, 1, 0.35)
unp <- data.frame(
  sample = c(rep("A", 90), rep("B", 110)),
  outcome = as.integer(c(yA, yB)),
  score = round(c(1.2 * yA + rnorm(90), 0.5 * yB + rnorm(110)), 6)
)
write_csv(unp, "roc_unpaired.csv")

## surv_ties: n = 120, integer times 1..30 (heavy ties), event 0/1,
## binary group, continuous x1, binary x2
set.seed(20240504)
n <- 120
group <- rbinom(n, 1, 0.5)
x1 <- round(rnorm(n), 4)
x2 <- rbinom(n, 1, 0.4)
rate <- 0.05 * exp(0.6 * group + 0.4 * x1 + 0.3 * x2)
t_ev <- rexp(n, rate)
t_ce <- runif(n, 5, 45)
tt <- pmin(t_ev, t_ce, 30)
st <- data.frame(
  time = as.integer(ceiling(tt)),
  event = as.integer(t_ev <= t_ce & t_ev <= 30),
  group = as.integer(group),
  x1 = x1,
  x2 = as.integer(x2)
)
write_csv(st, "surv_ties.csv")

## Read everything back: all reference values below come from the CSV files.
asah <- read_data("asah.csv")
lung <- read_data("lung.csv")
ties <- read_data("roc_ties.csv")
big <- read_data("roc_big.csv")
unp <- read_data("roc_unpaired.csv")
st <- read_data("surv_ties.csv")

stopifnot(isTRUE(all.equal(asah$s100b, aSAH$s100b, tolerance = 0)),
          isTRUE(all.equal(asah$ndka, aSAH$ndka, tolerance = 0)),
          identical(asah$outcome, as.character(aSAH$outcome)),
          identical(asah$wfns, as.integer(as.character(aSAH$wfns))),
          isTRUE(all.equal(as.list(lung), as.list(lung0), tolerance = 0,
                           check.attributes = FALSE)))

## ---------------------------------------------------------------------------
## 2. pROC
## ---------------------------------------------------------------------------
coords_best <- function(r, method) {
  cb <- coords(r, x = "best", best.method = method, transpose = FALSE,
               ret = c("threshold", "specificity", "sensitivity",
                       "youden", "closest.topleft"))
  list(
    threshold = A(cb$threshold),
    specificity = A(cb$specificity),
    sensitivity = A(cb$sensitivity),
    youden = A(cb$youden),
    closest_topleft = A(cb$closest.topleft)
  )
}

pauc_list <- function(r) {
  out <- list()
  for (focus in c("specificity", "sensitivity")) {
    for (correct in c(FALSE, TRUE)) {
      res <- capture(auc(r, partial.auc = c(1, 0.8), partial.auc.focus = focus,
                         partial.auc.correct = correct))
      out[[length(out) + 1]] <- list(
        partial_auc = A(c(1, 0.8)),
        focus = focus,
        correct = correct,
        value = as.numeric(res$value),
        warnings = A(res$warnings)
      )
    }
  }
  out
}

roc_detail <- function(response, predictor, levels, direction, keep_curve = TRUE) {
  r <- roc(response, predictor, levels = levels, direction = direction, quiet = TRUE)
  ci <- as.numeric(ci.auc(r, method = "delong", conf.level = 0.95))
  list(
    roc = r,
    out = list(
      direction_arg = direction,
      direction = r$direction,
      n_controls = length(r$controls),
      n_cases = length(r$cases),
      auc = as.numeric(r$auc),
      ci_delong = list(conf_level = 0.95, lower = ci[1], estimate = ci[2], upper = ci[3]),
      var_delong = as.numeric(var(r, method = "delong")),
      curve = if (keep_curve) list(
        thresholds = A(r$thresholds),
        sensitivities = A(r$sensitivities),
        specificities = A(r$specificities)
      ) else NULL,
      best_youden = coords_best(r, "youden"),
      best_closest_topleft = coords_best(r, "closest.topleft"),
      partial = pauc_list(r)
    )
  )
}

roc_test_out <- function(rt, warnings, extra) {
  ci <- if (is.null(rt$conf.int)) NULL else list(
    conf_level = attr(rt$conf.int, "conf.level"),
    lower = rt$conf.int[1], upper = rt$conf.int[2])
  c(extra, list(
    method = rt$method,
    alternative = rt$alternative,
    statistic_name = names(rt$statistic),
    statistic = unname(rt$statistic),
    parameter = if (is.null(rt$parameter)) NULL else
      setNames(as.list(unname(rt$parameter)), names(rt$parameter)),
    p_value = rt$p.value,
    estimate = A(unname(rt$estimate)),
    estimate_difference = unname(rt$estimate[1] - rt$estimate[2]),
    conf_int = ci,
    warnings = A(warnings)
  ))
}

## curves_for: direction arguments for which the full curve is stored
## (roc_big keeps only "auto" to keep the fixture small; curve is null otherwise)
proc_fixture <- function(df, data_file, response, levels, markers, seed = NULL,
                         curves_for = c("auto", "<", ">")) {
  resp <- df[[response]]
  rocs <- list()
  objs <- list()
  for (m in names(markers)) {
    pred <- markers[[m]]
    rocs[[m]] <- list()
    objs[[m]] <- list()
    for (d in c("auto", "<", ">")) {
      rd <- roc_detail(resp, pred, levels, d, keep_curve = d %in% curves_for)
      rocs[[m]][[d]] <- rd$out
      objs[[m]][[d]] <- rd$roc
    }
  }
  tests <- list()
  mk <- names(markers)
  for (d in c("auto", "<")) {
    for (i in seq_along(mk)) for (j in seq_along(mk)) if (i < j) {
      res <- capture(roc.test(objs[[mk[i]]][[d]], objs[[mk[j]]][[d]],
                              method = "delong", paired = TRUE))
      tests[[length(tests) + 1]] <- roc_test_out(res$value, res$warnings, list(
        roc1 = mk[i], roc2 = mk[j], direction_arg = d,
        direction1 = objs[[mk[i]]][[d]]$direction,
        direction2 = objs[[mk[j]]][[d]]$direction,
        paired = TRUE))
    }
  }
  list(
    meta = meta(data_file, if (is.null(seed)) list() else list(seed = seed)),
    data = list(
      file = data_file,
      response = response,
      levels = A(levels),
      markers = A(names(markers)),
      marker_columns = lapply(markers, function(x) attr(x, "column"))
    ),
    rocs = rocs,
    roc_test_paired = tests
  )
}

col <- function(df, name, f = identity) {
  x <- f(df[[name]])
  attr(x, "column") <- name
  x
}

## aSAH: wfns used as numeric (1..5)
fx <- proc_fixture(asah, "data/asah.csv", "outcome", c("Good", "Poor"),
                   list(s100b = col(asah, "s100b"), ndka = col(asah, "ndka"),
                        wfns = col(asah, "wfns", as.numeric)))
write_fixture(fx, "proc_asah.json")

fx <- proc_fixture(ties, "data/roc_ties.csv", "outcome", c(0, 1),
                   list(marker1 = col(ties, "marker1", as.numeric),
                        marker2 = col(ties, "marker2", as.numeric)),
                   seed = 20240501)
write_fixture(fx, "proc_roc_ties.json")

fx <- proc_fixture(big, "data/roc_big.csv", "outcome", c(0, 1),
                   list(marker1 = col(big, "marker1"), marker2 = col(big, "marker2"),
                        marker3 = col(big, "marker3")),
                   seed = 20240502, curves_for = "auto")
write_fixture(fx, "proc_roc_big.json")

## unpaired
uA <- unp[unp$sample == "A", ]
uB <- unp[unp$sample == "B", ]
rocs <- list(A = list(), B = list())
objs <- list(A = list(), B = list())
for (d in c("auto", "<", ">")) {
  rd <- roc_detail(uA$outcome, uA$score, c(0, 1), d); rocs$A[[d]] <- rd$out; objs$A[[d]] <- rd$roc
  rd <- roc_detail(uB$outcome, uB$score, c(0, 1), d); rocs$B[[d]] <- rd$out; objs$B[[d]] <- rd$roc
}
ut <- list()
for (d in c("auto", "<")) {
  res <- capture(roc.test(objs$A[[d]], objs$B[[d]], method = "delong", paired = FALSE))
  ut[[length(ut) + 1]] <- roc_test_out(res$value, res$warnings, list(
    roc1 = "A", roc2 = "B", direction_arg = d,
    direction1 = objs$A[[d]]$direction, direction2 = objs$B[[d]]$direction,
    paired = FALSE))
}
write_fixture(list(
  meta = meta("data/roc_unpaired.csv", list(seed = 20240503)),
  data = list(file = "data/roc_unpaired.csv", response = "outcome", levels = A(c(0, 1)),
              predictor = "score", sample_column = "sample", samples = A(c("A", "B"))),
  rocs = rocs,
  roc_test_unpaired = ut
), "proc_roc_unpaired.json")

## ---------------------------------------------------------------------------
## 3. survival
## ---------------------------------------------------------------------------
strata_index <- function(fit) {
  if (is.null(fit$strata)) rep("all", length(fit$time))
  else rep(names(fit$strata), fit$strata)
}

km_curves <- function(fit) {
  s <- summary(fit, censored = TRUE)   # std.err on the survival scale
  key <- strata_index(fit)
  skey <- if (is.null(s$strata)) rep("all", length(s$time)) else as.character(s$strata)
  out <- list()
  for (k in unique(key)) {
    i <- key == k
    j <- skey == k
    stopifnot(isTRUE(all.equal(fit$time[i], s$time[j])))
    out[[k]] <- list(
      time = A(fit$time[i]),
      n_risk = A(fit$n.risk[i]),
      n_event = A(fit$n.event[i]),
      n_censor = A(fit$n.censor[i]),
      surv = A(fit$surv[i]),
      std_err = A(fit$std.err[i]),
      std_err_surv = A(s$std.err[j]),
      lower = A(fit$lower[i]),
      upper = A(fit$upper[i]),
      cumhaz = A(fit$cumhaz[i]),
      std_chaz = A(fit$std.chaz[i])
    )
  }
  out
}

km_table <- function(fit) {
  s <- summary(fit)
  tab <- s$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list("all", names(tab)))
  out <- list()
  for (k in rownames(tab)) {
    r <- tab[k, ]
    out[[k]] <- list(
      records = unname(r["records"]), n_max = unname(r["n.max"]),
      n_start = unname(r["n.start"]), events = unname(r["events"]),
      rmean = unname(r["rmean"]), se_rmean = unname(r["se(rmean)"]),
      rmean_endtime = unname(s$rmean.endtime[match(k, rownames(tab))]),
      median = unname(r["median"]),
      median_lower_95 = unname(r["0.95LCL"]),
      median_upper_95 = unname(r["0.95UCL"])
    )
  }
  out
}

km_at_times <- function(fit, times) {
  s <- summary(fit, times = times)
  skey <- if (is.null(s$strata)) rep("all", length(s$time)) else as.character(s$strata)
  out <- list()
  for (k in unique(skey)) {
    j <- skey == k
    out[[k]] <- list(
      time = A(s$time[j]), n_risk = A(s$n.risk[j]), n_event = A(s$n.event[j]),
      n_censor = A(s$n.censor[j]), surv = A(s$surv[j]), std_err = A(s$std.err[j]),
      lower = A(s$lower[j]), upper = A(s$upper[j])
    )
  }
  list(times = A(times), strata = out)
}

km_block <- function(fit, times) {
  list(
    conf_type = fit$conf.type,
    conf_int = fit$conf.int,
    strata_names = A(if (is.null(fit$strata)) "all" else names(fit$strata)),
    curves = km_curves(fit),
    table = km_table(fit),
    at_times = km_at_times(fit, times)
  )
}

survdiff_block <- function(sd) {
  df <- sum(sd$exp > 0) - 1
  list(
    groups = A(names(sd$n)),
    n = A(unname(as.numeric(sd$n))),
    obs = A(unname(sd$obs)),
    exp = A(unname(sd$exp)),
    var = lapply(seq_len(nrow(sd$var)), function(i) A(sd$var[i, ])),
    chisq = sd$chisq,
    df = df,
    p = if (!is.null(sd$pvalue)) sd$pvalue else pchisq(sd$chisq, df, lower.tail = FALSE)
  )
}

cox_block <- function(fit) {
  s <- summary(fit)
  cf <- s$coefficients
  ci <- s$conf.int
  terms <- rownames(cf)
  coefs <- list()
  for (t in terms) {
    coefs[[t]] <- list(
      coef = cf[t, "coef"], exp_coef = cf[t, "exp(coef)"], se_coef = cf[t, "se(coef)"],
      z = cf[t, "z"], p = cf[t, "Pr(>|z|)"],
      lower_95 = ci[t, "lower .95"], upper_95 = ci[t, "upper .95"]
    )
  }
  zph <- cox.zph(fit)          # transform = "km" (default), terms = TRUE
  zt <- zph$table
  zl <- list()
  for (t in rownames(zt)) zl[[t]] <- list(chisq = zt[t, "chisq"], df = zt[t, "df"], p = zt[t, "p"])
  cc <- fit$concordance
  conc <- concordance(fit)
  ## statistics taken from the fit object at full precision
  ## (summary.coxph rounds the Wald statistic to 2 decimals)
  df <- sum(!is.na(coef(fit)))
  test3 <- function(stat, v) {
    p <- pchisq(stat, df, lower.tail = FALSE)
    stopifnot(unname(v["df"]) == df,
              abs(p - unname(v["pvalue"])) <= 1e-12 + 1e-8 * abs(p))
    list(statistic = unname(stat), df = df, p = p)
  }
  list(
    ties = fit$method,
    formula = paste(deparse(formula(fit)), collapse = " "),
    n = fit$n, nevent = fit$nevent,
    n_dropped_na = length(fit$na.action),
    iter = fit$iter,
    terms = A(terms),
    coefficients = coefs,
    var = lapply(seq_len(nrow(fit$var)), function(i) A(fit$var[i, ])),
    loglik = A(fit$loglik),
    lr_test = test3(2 * (fit$loglik[2] - fit$loglik[1]), s$logtest),
    wald_test = test3(fit$wald.test, s$waldtest),
    score_test = test3(fit$score, s$sctest),
    concordance = list(
      concordant = unname(cc["concordant"]), discordant = unname(cc["discordant"]),
      tied_x = unname(cc["tied.x"]), tied_y = unname(cc["tied.y"]),
      tied_xy = unname(cc["tied.xy"]),
      c = unname(cc["concordance"]), std = unname(cc["std"]),
      c_concordance_fn = unname(conc$concordance), var_concordance_fn = unname(conc$var),
      std_concordance_fn = sqrt(unname(conc$var))
    ),
    zph = list(transform = zph$transform, table = zl, terms = A(rownames(zt)))
  )
}

## lung (status 1 = censored, 2 = dead; Surv() treats 2 as the event)
km_all <- survfit(Surv(time, status) ~ 1, data = lung)
km_sex <- survfit(Surv(time, status) ~ sex, data = lung)
write_fixture(list(
  meta = meta("data/lung.csv"),
  data = list(file = "data/lung.csv", time = "time", status = "status",
              status_coding = "1=censored, 2=dead (event)", n = nrow(lung)),
  km_overall = km_block(km_all, c(180, 365)),
  km_by_sex = km_block(km_sex, c(180, 365)),
  survdiff_sex = survdiff_block(survdiff(Surv(time, status) ~ sex, data = lung)),
  coxph_efron = cox_block(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung,
                                ties = "efron")),
  coxph_breslow = cox_block(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung,
                                  ties = "breslow"))
), "surv_lung.json")

## surv_ties
km_all <- survfit(Surv(time, event) ~ 1, data = st)
km_grp <- survfit(Surv(time, event) ~ group, data = st)
write_fixture(list(
  meta = meta("data/surv_ties.csv", list(seed = 20240504)),
  data = list(file = "data/surv_ties.csv", time = "time", status = "event",
              status_coding = "0=censored, 1=event", n = nrow(st)),
  km_overall = km_block(km_all, c(10, 20)),
  km_by_group = km_block(km_grp, c(10, 20)),
  survdiff_group = survdiff_block(survdiff(Surv(time, event) ~ group, data = st)),
  coxph_efron = cox_block(coxph(Surv(time, event) ~ x1 + x2, data = st, ties = "efron")),
  coxph_breslow = cox_block(coxph(Surv(time, event) ~ x1 + x2, data = st, ties = "breslow"))
), "surv_ties.json")

cat("done\n")
