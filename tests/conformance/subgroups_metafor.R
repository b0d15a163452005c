# Fresh metafor cases for tests/conformance/test_subgroups_metafor.py: the test for subgroup
# differences with a separate tau2 per group (separate rma fits, then a common-effect fit of
# the group estimates: its QE) and with a common tau2 (rma with mods = ~ factor(group): QM),
# the subtotals with a common tau2 (rma with mods = ~ factor(group) - 1: coefficients, z and
# knha; each group's Q and, from rma(tau2 = common tau2), its I2 and H2), and meta-regression
# with several moderators on dat.bcg (ablat + year; ablat + factor(alloc); ablat + year +
# factor(alloc)).
# Usage: Rscript subgroups_metafor.R OUT.json SEED CASES
suppressPackageStartupMessages({ library(metafor); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]; seed <- as.integer(args[2]); n_cases <- as.integer(args[3])
set.seed(seed)
# converged to the end, as metafor_fixtures.R (metafor stops at a 1e-5 change by default)
ctl <- list(threshold = 1e-12, tol = 1e-13, maxiter = 10000, stepadj = 0.5)
methods <- c("REML", "DL", "PM", "ML", "EB", "HE", "SJ", "HS")
subgroup_cases <- list()
for (i in seq_len(n_cases)) {
  m <- sample(2:4, 1)
  sizes <- sample(2:6, m, replace = TRUE)
  g <- rep(paste0("g", LETTERS[seq_len(m)]), sizes)
  k <- length(g)
  shift <- rnorm(m, 0, 0.4)[as.integer(factor(g))]
  vi <- runif(k, 0.01, 0.3)
  yi <- shift + rnorm(k, 0, sqrt(vi + runif(1, 0, 0.2)))
  method <- methods[(i - 1) %% length(methods) + 1]
  sep <- lapply(split(seq_len(k), g), function(s) rma(yi[s], vi[s], method = method, control = ctl))
  est <- sapply(sep, function(f) as.numeric(f$b))
  se <- sapply(sep, function(f) f$se)
  between <- rma(est, sei = se, method = "FE")
  common <- rma(yi, vi, mods = ~ factor(g), method = method, control = ctl)
  common_knha <- rma(yi, vi, mods = ~ factor(g), method = method, test = "knha",
                     control = ctl)
  subtotals <- function(test) {
    f <- rma(yi, vi, mods = ~ factor(g) - 1, method = method, test = test, control = ctl)
    own <- lapply(split(seq_len(k), g), function(s)
      rma(yi[s], vi[s], tau2 = f$tau2, method = method, control = ctl))
    list(tau2 = f$tau2, estimate = as.numeric(f$b), se = f$se, ci_lb = f$ci.lb,
         ci_ub = f$ci.ub, pval = f$pval, zval = f$zval,
         k = as.integer(sapply(own, function(o) o$k)),
         Q = as.numeric(sapply(own, function(o) o$QE)),
         I2 = as.numeric(sapply(own, function(o) if (o$k > 1) o$I2 else 0)),
         H2 = as.numeric(sapply(own, function(o) if (o$k > 1) o$H2 else 1)),
         weights = lapply(own, function(o) as.numeric(weights(o))))
  }
  subgroup_cases[[i]] <- list(
    yi = yi, vi = vi, group = g, method = method,
    subtotals_z = subtotals("z"), subtotals_knha = subtotals("knha"),
    separate = list(q = between$QE, df = between$k - 1, p = between$QEp),
    common = list(q = common$QM, df = common$QMdf[1], p = common$QMp, tau2 = common$tau2),
    common_knha = list(q = common_knha$QM, df = common_knha$QMdf[1],
                       df2 = common_knha$QMdf[2], p = common_knha$QMp,
                       tau2 = common_knha$tau2)
  )
}
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
fit_of <- function(f) list(
  coef = as.numeric(f$b), se = f$se, pval = f$pval, ci_lb = f$ci.lb, ci_ub = f$ci.ub,
  names = rownames(f$b), QM = f$QM, QMdf = f$QMdf, QMp = f$QMp, QE = f$QE, QEp = f$QEp,
  tau2 = f$tau2, I2 = f$I2, R2 = if (is.null(f$R2)) NA else f$R2
)
regressions <- list()
for (method in c("REML", "DL", "PM", "ML")) {
  for (test in c("z", "knha")) {
    regressions[[length(regressions) + 1]] <- c(
      list(mods = "ablat + year", method = method, test = test),
      fit_of(rma(yi, vi, mods = ~ ablat + year, data = dat, method = method, test = test,
                 control = ctl)))
    regressions[[length(regressions) + 1]] <- c(
      list(mods = "ablat + factor(alloc)", method = method, test = test),
      fit_of(rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat, method = method,
                 test = test, control = ctl)))
    regressions[[length(regressions) + 1]] <- c(
      list(mods = "ablat + year + factor(alloc)", method = method, test = test),
      fit_of(rma(yi, vi, mods = ~ ablat + year + factor(alloc), data = dat, method = method,
                 test = test, control = ctl)))
  }
}
bcg <- list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), ablat = dat$ablat,
            year = dat$year, alloc = as.character(dat$alloc))
write_json(list(metafor = as.character(packageVersion("metafor")), subgroups = subgroup_cases,
                bcg = bcg, regressions = regressions),
           out, digits = NA, auto_unbox = TRUE, na = "null")
