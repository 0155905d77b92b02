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

## ---------------------------------------------------------------------------
## 3. cmprsk: cuminc (Aalen-Johansen CIF + Gray's variance), Gray's test, crr
## ---------------------------------------------------------------------------
set.seed(20240505)
n <- 240
grp <- sample(c("A", "B", "C"), n, replace = TRUE)
x1 <- round(rnorm(n), 4)
x2 <- rbinom(n, 1, 0.4)
lp1 <- 0.5 * x1 + 0.6 * x2 + ifelse(grp == "B", 0.5, 0) + ifelse(grp == "C", -0.3, 0)
t1 <- rexp(n, 0.05 * exp(lp1))
t2 <- rexp(n, 0.03 * exp(-0.3 * x1))
t3 <- rexp(n, 0.008)
cens <- runif(n, 5, 60)
tt <- pmin(t1, t2, t3, cens)
ev <- ifelse(tt == cens, 0, ifelse(tt == t1, 1, ifelse(tt == t2, 2, 3)))
tt <- ceiling(tt)            # integer times: ties within and across causes and censoring
write_csv(data.frame(time = tt, event = ev, group = grp, x1 = x1, x2 = x2), "competing.csv")
cr <- read_data("competing.csv")

cif_block <- function(ci) {
  tests <- ci$Tests
  curves <- ci[names(ci) != "Tests"]
  list(
    curves = lapply(curves, function(z) list(time = A(z$time), est = A(z$est), var = A(z$var))),
    names = A(names(curves)),
    tests = if (is.null(tests)) NULL else list(
      cause = A(rownames(tests)), stat = A(tests[, "stat"]), pv = A(tests[, "pv"]), df = A(tests[, "df"]))
  )
}
at_times <- c(5, 10, 20, 30.5, 45)
tp_block <- function(ci, times) {
  tp <- timepoints(ci, times)
  list(times = A(times), rows = A(rownames(tp$est)),
       est = lapply(seq_len(nrow(tp$est)), function(i) A(tp$est[i, ])),
       var = lapply(seq_len(nrow(tp$var)), function(i) A(tp$var[i, ])))
}
ci_g <- cuminc(cr$time, cr$event, cr$group)
ci_all <- cuminc(cr$time, cr$event)
ci_x2 <- cuminc(cr$time, cr$event, cr$x2)
ci_rho <- cuminc(cr$time, cr$event, cr$group, rho = 1)
crr_block <- function(fit) {
  se <- sqrt(diag(fit$var))
  z <- fit$coef / se   # summary.crr rounds the p-values for display; these are full precision
  list(terms = A(names(fit$coef)), coef = A(unname(fit$coef)), se = A(unname(se)),
       z = A(unname(z)), p = A(unname(2 * pnorm(-abs(z)))),
       var = lapply(seq_len(nrow(fit$var)), function(i) A(fit$var[i, ])),
       loglik = fit$loglik, converged = fit$converged)
}
cov1 <- cbind(x1 = cr$x1, x2 = cr$x2, groupB = as.numeric(cr$group == "B"),
              groupC = as.numeric(cr$group == "C"))
write_fixture(list(
  meta = meta("data/competing.csv", list(seed = 20240505), generator = GEN,
              packages = c("cmprsk", "survival", "jsonlite")),
  data = list(file = "data/competing.csv", time = "time", event = "event",
              event_coding = "0 = censored, 1 = event of interest, 2, 3 = competing"),
  cuminc_group = cif_block(ci_g),
  cuminc_all = cif_block(ci_all),
  cuminc_x2 = cif_block(ci_x2),
  cuminc_group_rho1 = cif_block(ci_rho),
  timepoints_group = tp_block(ci_g, at_times),
  timepoints_all = tp_block(ci_all, at_times),
  crr_cause1 = crr_block(crr(cr$time, cr$event, cov1, failcode = 1, cencode = 0)),
  crr_cause2 = crr_block(crr(cr$time, cr$event, cov1[, c("x1", "x2")], failcode = 2, cencode = 0))
), "cmprsk_competing.json")

## ---------------------------------------------------------------------------
## 4. stratified Cox (coxph with strata())
## ---------------------------------------------------------------------------
lung <- read_data("lung.csv")
strat_block <- function(fit) {
  s <- summary(fit)
  list(ties = fit$method, formula = paste(deparse(fit$formula), collapse = " "),
       n = fit$n, nevent = fit$nevent, terms = A(names(coef(fit))),
       coef = A(unname(coef(fit))), se = A(unname(sqrt(diag(fit$var)))),
       z = A(unname(s$coefficients[, "z"])), p = A(unname(s$coefficients[, "Pr(>|z|)"])),
       var = lapply(seq_len(nrow(fit$var)), function(i) A(fit$var[i, ])),
       loglik = A(fit$loglik),
       lr_test = list(statistic = unname(s$logtest["test"]), df = unname(s$logtest["df"]),
                      p = unname(s$logtest["pvalue"])),
       wald_test = list(statistic = unname(fit$wald.test), df = length(coef(fit)),
                        p = pchisq(unname(fit$wald.test), length(coef(fit)), lower.tail = FALSE)),
       score_test = list(statistic = unname(fit$score), df = length(coef(fit)),
                         p = pchisq(unname(fit$score), length(coef(fit)), lower.tail = FALSE)))
}
sties <- read_data("surv_ties.csv")
write_fixture(list(
  meta = meta(c("data/lung.csv", "data/surv_ties.csv", "data/competing.csv"), generator = GEN,
              packages = c("survival", "jsonlite")),
  lung_efron = strat_block(coxph(Surv(time, status) ~ age + ph.ecog + strata(sex), data = lung)),
  lung_breslow = strat_block(coxph(Surv(time, status) ~ age + ph.ecog + strata(sex), data = lung,
                                   ties = "breslow")),
  ties_efron = strat_block(coxph(Surv(time, event) ~ x1 + x2 + strata(group), data = sties)),
  competing_efron = strat_block(coxph(Surv(time, event == 1) ~ x1 + x2 + strata(group), data = cr))
), "surv_strata.json")

## ---------------------------------------------------------------------------
## 5. pROC additions: coords at se/sp, PR coordinates, multiclass AUC,
##    one-sided tests, power.roc.test (one curve)
## ---------------------------------------------------------------------------
unp <- read_data("roc_unpaired.csv")
lv <- c("Good", "Poor")
coords_input <- function(r, input, x) {
  cc <- coords(r, x = x, input = input, ret = c("threshold", "specificity", "sensitivity"),
               transpose = FALSE)
  list(input = input, x = A(x), threshold = A(cc$threshold), specificity = A(cc$specificity),
       sensitivity = A(cc$sensitivity))
}
pr_block <- function(r) {
  cc <- coords(r, "all", ret = c("threshold", "recall", "precision"), transpose = FALSE)
  ok <- !is.na(cc$precision)
  rec <- cc$recall[ok]; pre <- cc$precision[ok]
  o <- order(rec)
  ## trapezoid over the pROC points with a defined precision, by increasing recall
  list(threshold = A(cc$threshold), recall = A(cc$recall), precision = A(cc$precision),
       auprc_trapezoid = sum(diff(rec[o]) * (head(pre[o], -1) + tail(pre[o], -1)) / 2))
}
rs100 <- roc(asah$outcome, asah$s100b, levels = lv, quiet = TRUE)
rndka <- roc(asah$outcome, asah$ndka, levels = lv, quiet = TRUE)
rwfns <- roc(asah$outcome, as.numeric(asah$wfns), levels = lv, quiet = TRUE)
rgt <- roc(asah$outcome, asah$ndka, levels = lv, direction = ">", quiet = TRUE)
onesided <- list()
for (alt in c("less", "greater")) {
  t1 <- roc.test(rs100, rndka, method = "delong", paired = TRUE, alternative = alt)
  onesided[[length(onesided) + 1]] <- list(roc1 = "s100b", roc2 = "ndka", paired = TRUE, alternative = alt,
                                           statistic = unname(t1$statistic), p_value = t1$p.value)
}
uA <- unp[unp$sample == "A", ]; uB <- unp[unp$sample == "B", ]
rA <- roc(uA$outcome, uA$score, levels = c(0, 1), quiet = TRUE)
rB <- roc(uB$outcome, uB$score, levels = c(0, 1), quiet = TRUE)
for (alt in c("less", "greater")) {
  t1 <- roc.test(rA, rB, method = "delong", paired = FALSE, alternative = alt)
  onesided[[length(onesided) + 1]] <- list(roc1 = "A", roc2 = "B", paired = FALSE, alternative = alt,
                                           statistic = unname(t1$statistic), p_value = t1$p.value,
                                           df = unname(t1$parameter))
}
## multiclass: gos6 (1..5 -> levels present) as a 4/5-level outcome
mc_uni <- multiclass.roc(asah$gos6, asah$s100b, quiet = TRUE)
mc_uni_lt <- multiclass.roc(asah$gos6, asah$s100b, direction = "<", quiet = TRUE)
set.seed(20240506)
nmc <- 150
site <- sample(c("lung", "liver", "brain"), nmc, replace = TRUE, prob = c(0.4, 0.4, 0.2))
P <- matrix(runif(nmc * 3), ncol = 3)
P[cbind(seq_len(nmc), match(site, c("lung", "liver", "brain")))] <-
  P[cbind(seq_len(nmc), match(site, c("lung", "liver", "brain")))] + 0.6
P <- round(P / rowSums(P), 6)
write_csv(data.frame(site = site, lung = P[, 1], liver = P[, 2], brain = P[, 3]), "multiclass.csv")
mcd <- read_data("multiclass.csv")
mc_mv <- multiclass.roc(mcd$site, as.matrix(mcd[, c("lung", "liver", "brain")]), direction = ">", quiet = TRUE)
mc_mv_pairs <- lapply(mc_mv$rocs, function(x) A(c(as.numeric(auc(x[[1]])), as.numeric(auc(x[[2]])))))
power <- list(
  list(call = "auc=0.8, ncases=41, ncontrols=72", res = unclass(power.roc.test(auc = 0.8, ncases = 41, ncontrols = 72))),
  list(call = "auc=0.75, power=0.9, kappa=1.7", res = unclass(power.roc.test(auc = 0.75, power = 0.9, kappa = 1.7))),
  list(call = "auc=0.7, ncases=60, ncontrols=60, power=0.8, sig.level=NULL",
       res = unclass(power.roc.test(auc = 0.7, ncases = 60, ncontrols = 60, power = 0.8, sig.level = NULL))),
  list(call = "ncases=41, ncontrols=72, power=0.8", res = unclass(power.roc.test(ncases = 41, ncontrols = 72, power = 0.8))),
  list(call = "auc=0.8, ncases=41, ncontrols=72, one.sided",
       res = unclass(power.roc.test(auc = 0.8, ncases = 41, ncontrols = 72, alternative = "one.sided")))
)
power <- lapply(power, function(p) list(call = p$call, ncases = p$res$ncases, ncontrols = p$res$ncontrols,
                                        auc = as.numeric(p$res$auc), sig_level = p$res$sig.level,
                                        power = p$res$power))
write_fixture(list(
  meta = meta(c("data/asah.csv", "data/roc_unpaired.csv", "data/multiclass.csv"),
              list(seed = 20240506), generator = GEN),
  coords = list(
    s100b_sp = coords_input(rs100, "specificity", c(0.5, 0.8, 0.9, 0.95, 0.9722222222222222, 1)),
    s100b_se = coords_input(rs100, "sensitivity", c(0.5, 0.6341463414634146, 0.75, 0.9, 1)),
    wfns_sp = coords_input(rwfns, "specificity", c(0.5, 0.7, 0.9)),
    wfns_se = coords_input(rwfns, "sensitivity", c(0.5, 0.7, 0.9)),
    ndka_gt_se = coords_input(rgt, "sensitivity", c(0.2, 0.5, 0.8))
  ),
  pr = list(s100b = pr_block(rs100), ndka = pr_block(rndka), wfns = pr_block(rwfns), ndka_gt = pr_block(rgt)),
  onesided = onesided,
  multiclass = list(
    univariate_auto = list(response = "gos6", predictor = "s100b", direction = "auto",
                           levels = A(mc_uni$levels), auc = as.numeric(mc_uni$auc),
                           pair_auc = A(sapply(mc_uni$rocs, function(r) as.numeric(auc(r)))),
                           pair_direction = A(sapply(mc_uni$rocs, function(r) r$direction))),
    univariate_lt = list(response = "gos6", predictor = "s100b", direction = "<",
                         levels = A(mc_uni_lt$levels), auc = as.numeric(mc_uni_lt$auc)),
    multivariate = list(file = "data/multiclass.csv", response = "site", columns = A(c("lung", "liver", "brain")),
                        direction = ">", levels = A(mc_mv$levels), auc = as.numeric(mc_mv$auc),
                        pairs = A(names(mc_mv$rocs)), pair_auc = mc_mv_pairs)
  ),
  power_one_roc = power,
  power_two_roc = lapply(list(
      list(call = "s100b vs ndka, power", res = power.roc.test(rs100, rndka)),
      list(call = "s100b vs ndka, power=0.9", res = power.roc.test(rs100, rndka, power = 0.9)),
      list(call = "s100b vs ndka, power=0.8, sig.level=NULL", res = power.roc.test(rs100, rndka, power = 0.8,
                                                                                  sig.level = NULL)),
      list(call = "s100b vs wfns, power=0.9, one.sided", res = power.roc.test(rs100, rwfns, power = 0.9,
                                                                            alternative = "one.sided"))),
    function(p) list(call = p$call, ncases = p$res$ncases, ncontrols = p$res$ncontrols,
                     sig_level = p$res$sig.level, power = p$res$power)),
  ## bootstrap CIs: pROC's RNG cannot be reproduced in Python; tests compare within Monte Carlo error
  ci_boot = local({
    set.seed(20240507)
    cse <- ci.se(rs100, specificities = c(0.5, 0.8, 0.9), boot.n = 2000, progress = "none")
    set.seed(20240508)
    csp <- ci.sp(rs100, sensitivities = c(0.5, 0.8, 0.9), boot.n = 2000, progress = "none")
    set.seed(20240509)
    cth <- ci.thresholds(rs100, thresholds = c(0.1, 0.205, 0.3), boot.n = 2000, progress = "none")
    list(boot_n = 2000,
         se = list(specificities = A(c(0.5, 0.8, 0.9)), low = A(cse[, 1]), median = A(cse[, 2]), high = A(cse[, 3])),
         sp = list(sensitivities = A(c(0.5, 0.8, 0.9)), low = A(csp[, 1]), median = A(csp[, 2]), high = A(csp[, 3])),
         thresholds = list(thresholds = A(c(0.1, 0.205, 0.3)),
                           sp_low = A(cth$specificity[, 1]), sp_median = A(cth$specificity[, 2]),
                           sp_high = A(cth$specificity[, 3]), se_low = A(cth$sensitivity[, 1]),
                           se_median = A(cth$sensitivity[, 2]), se_high = A(cth$sensitivity[, 3])))
  }),
  smooth_binormal = lapply(list(s100b = rs100, ndka = rndka, wfns = rwfns, ndka_gt = rgt), function(r) {
    sm <- smooth(r, method = "binormal")
    list(sensitivities = A(sm$sensitivities), specificities = A(sm$specificities),
         intercept = unname(coefficients(sm$model)[1]), slope = unname(coefficients(sm$model)[2]),
         auc = as.numeric(auc(sm)), var_obuchowski = as.numeric(var(r, method = "obuchowski")))
  })
), "proc_extra.json")
cat("done\n")
