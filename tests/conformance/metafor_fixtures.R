# Generates reference results from R's metafor for the project's pooling engine.
# Usage: Rscript tests/conformance/metafor_fixtures.R OUTDIR SEED [NSYNTH]
# Writes one JSON file per case: the input data and metafor's outputs.
suppressMessages(library(metafor)); library(jsonlite)
args <- commandArgs(TRUE); out <- args[1]; seed <- as.integer(args[2])
nsynth <- if (length(args) > 2) as.integer(args[3]) else 6
dir.create(out, showWarnings = FALSE, recursive = TRUE)

methods <- c("EE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB")
ctl <- list(threshold = 1e-12, tol = 1e-13, maxiter = 10000, stepadj = 0.5)

fitsum <- function(res) {
  p <- predict(res)
  list(estimate = as.numeric(res$beta), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
       stat = as.numeric(res$zval), pval = res$pval, tau2 = res$tau2, I2 = res$I2, H2 = res$H2,
       Q = res$QE, Q_pval = res$QEp, df = res$k - res$p,
       pi_lb = as.numeric(p$pi.lb), pi_ub = as.numeric(p$pi.ub))
}

pool_all <- function(yi, vi) {
  r <- list()
  for (m in methods) {
    res <- try(rma(yi, vi, method = m, control = ctl), silent = TRUE)
    if (!inherits(res, "try-error")) r[[m]] <- fitsum(res)
    for (t in c("knha")) {
      if (m %in% c("DL", "REML", "PM")) {
        res2 <- try(rma(yi, vi, method = m, test = t, control = ctl), silent = TRUE)
        if (!inherits(res2, "try-error")) r[[paste0(m, "_", t)]] <- fitsum(res2)
      }
    }
  }
  r
}

extras <- function(yi, vi, year = NULL, group = NULL, mod = NULL) {
  x <- list()
  res <- rma(yi, vi, method = "REML", control = ctl)
  ci <- try(confint(res, control = list(tol = 1e-12)), silent = TRUE)
  if (!inherits(ci, "try-error")) {
    x$tau2_ci_REML <- list(tau2_lb = ci$random["tau^2", "ci.lb"], tau2_ub = ci$random["tau^2", "ci.ub"],
                           I2_lb = ci$random["I^2(%)", "ci.lb"], I2_ub = ci$random["I^2(%)", "ci.ub"])
  }
  if (length(yi) >= 3) {
    l1 <- leave1out(res)
    x$leave1out_REML <- list(estimate = l1$estimate, se = l1$se, ci_lb = l1$ci.lb, ci_ub = l1$ci.ub,
                             tau2 = l1$tau2, I2 = l1$I2, Q = l1$Q)
    inf <- influence(res)
    x$influence_REML <- list(rstudent = inf$inf$rstudent, cooks_d = inf$inf$cook.d, hat = inf$inf$hat,
                             dffits = inf$inf$dffits, cov_r = inf$inf$cov.r, weight = inf$inf$weight)
    eg <- regtest(res, model = "lm")
    x$egger_lm <- list(stat = eg$zval, pval = eg$pval, df = eg$dfs, limit_estimate = eg$est)
    eg2 <- regtest(res)
    x$egger_rma <- list(stat = eg2$zval, pval = eg2$pval, limit_estimate = eg2$est)
    rk <- ranktest(res)
    x$begg <- list(tau = as.numeric(rk$tau), pval = rk$pval)
    tf <- trimfill(rma(yi, vi, method = "REML", control = ctl))
    x$trimfill_REML <- list(k0 = tf$k0, side = tf$side, estimate = as.numeric(tf$beta), ci_lb = tf$ci.lb,
                            ci_ub = tf$ci.ub, tau2 = tf$tau2, filled_yi = tf$yi[tf$fill], filled_vi = tf$vi[tf$fill])
    tf2 <- trimfill(rma(yi, vi, method = "EE"))
    x$trimfill_EE <- list(k0 = tf2$k0, side = tf2$side, estimate = as.numeric(tf2$beta), ci_lb = tf2$ci.lb, ci_ub = tf2$ci.ub)
  }
  if (!is.null(year)) {
    cu <- cumul(res, order = year)
    x$cumul_REML_by_year <- list(order = order(year), estimate = cu$estimate, ci_lb = cu$ci.lb, ci_ub = cu$ci.ub, tau2 = cu$tau2, I2 = cu$I2)
  }
  if (!is.null(group)) {
    g <- list(); ests <- c(); ses <- c()
    for (lev in sort(unique(group))) {
      s <- group == lev
      if (sum(s) >= 1) {
        rs <- rma(yi[s], vi[s], method = "REML", control = ctl)
        g[[lev]] <- fitsum(rs); ests <- c(ests, as.numeric(rs$beta)); ses <- c(ses, rs$se)
      }
    }
    qb <- if (length(ests) >= 2) rma(ests, ses^2, method = "EE") else NULL
    x$subgroups_REML <- list(groups = g, Q_between = if (is.null(qb)) NULL else qb$QE,
                             df_between = length(ests) - 1, p_between = if (is.null(qb)) NULL else qb$QEp)
  }
  if (!is.null(mod) && length(yi) >= 4) {
    mr <- rma(yi, vi, mods = ~ mod, method = "REML", control = ctl)
    x$metareg_REML <- list(coef = as.numeric(mr$beta), se = mr$se, pval = mr$pval, QM = mr$QM, QMp = mr$QMp,
                           tau2 = mr$tau2, I2 = mr$I2, R2 = mr$R2, QE = mr$QE, QEp = mr$QEp)
  }
  x
}

write_case <- function(name, data, res) {
  writeLines(toJSON(list(case = name, metafor_version = as.character(packageVersion("metafor")),
                         data = data, expected = res), digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null", na = "null"),
             file.path(out, paste0(name, ".json")))
}

## Binary-outcome cases: 2x2 tables -> log OR / log RR with metafor's default continuity correction
binary_case <- function(name, ai, n1i, ci, n2i, year, group, mod) {
  bi <- n1i - ai; di <- n2i - ci
  res <- list()
  for (ms in c("OR", "RR", "RD")) {
    es <- escalc(measure = ms, ai = ai, bi = bi, ci = ci, di = di)
    r <- list(yi = as.numeric(es$yi), vi = as.numeric(es$vi), pooled = pool_all(es$yi, es$vi))
    if (ms %in% c("OR", "RR")) r$extras <- extras(es$yi, es$vi, year, group, mod)
    mh <- try(rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = ms), silent = TRUE)
    if (!inherits(mh, "try-error")) r$mantel_haenszel <- list(estimate = as.numeric(mh$beta), se = mh$se, ci_lb = mh$ci.lb, ci_ub = mh$ci.ub, pval = mh$pval, Q = mh$QE, I2 = mh$I2)
    if (ms == "OR") {
      pt <- try(rma.peto(ai = ai, bi = bi, ci = ci, di = di), silent = TRUE)
      if (!inherits(pt, "try-error")) r$peto <- list(estimate = as.numeric(pt$beta), se = pt$se, ci_lb = pt$ci.lb, ci_ub = pt$ci.ub, pval = pt$pval, Q = pt$QE)
    }
    res[[ms]] <- r
  }
  write_case(name, list(events_treat = ai, n_treat = n1i, events_ctrl = ci, n_ctrl = n2i, year = year, group = group, moderator = mod,
                        note = "escalc defaults: add=1/2 to='only0' for OR/RR; rma.mh/rma.peto defaults"), res)
}

## Generic-inverse-variance cases: yi, vi directly (e.g. log hazard ratios)
giv_case <- function(name, yi, vi, year, group, mod) {
  write_case(name, list(yi = yi, vi = vi, year = year, group = group, moderator = mod),
             list(GIV = list(pooled = pool_all(yi, vi), extras = extras(yi, vi, year, group, mod))))
}

set.seed(seed)
if (seed == 1) {
  d <- dat.bcg
  binary_case("bcg", d$tpos, d$tpos + d$tneg, d$cpos, d$cpos + d$cneg, d$year, d$alloc, d$ablat)
  h <- dat.hackshaw1998
  giv_case("hackshaw1998_or_from_ci", as.numeric(h$yi), as.numeric(h$vi), h$year, h$design, h$year)
  # CLASP (DerSimonian & Kacker 2007): strong estimator divergence at k = 6
  binary_case("clasp", c(5, 5, 12, 69, 9, 313), c(156, 303, 565, 1570, 103, 4659),
              c(8, 17, 9, 94, 11, 352), c(74, 303, 477, 1565, 105, 4650), 1:6, rep("all", 6), 1:6)
}
if (seed == 2) {
  e <- dat.egger2001
  binary_case("egger2001", e$ai, e$n1i, e$ci, e$n2i, e$year, ifelse(e$year < 1990, "early", "late"), e$year)
}
for (i in seq_len(nsynth)) {
  k <- sample(c(2, 3, 4, 5, 7, 10, 15, 30, 60), 1)
  tau <- sample(c(0, 0.1, 0.3, 0.6), 1)
  mu <- rnorm(1, -0.4, 0.3)
  vi <- runif(k, 0.01, 0.4)
  yi <- rnorm(k, mu, sqrt(vi + tau^2))
  year <- sample(1995:2024, k, replace = TRUE)
  group <- sample(c("A", "B", "C")[1:sample(1:3, 1)], k, replace = TRUE)
  mod <- round(runif(k, 3, 9))
  giv_case(sprintf("giv_s%d_%02d", seed, i), yi, vi, year, group, mod)
  n1 <- sample(20:200, k, TRUE); n2 <- sample(20:200, k, TRUE)
  p2 <- runif(k, 0.05, 0.6); lor <- rnorm(k, mu, tau)
  p1 <- plogis(qlogis(p2) + lor)
  a <- rbinom(k, n1, p1); c <- rbinom(k, n2, p2)
  if (i %% 3 == 0) { a[1] <- 0 }  # a zero cell
  binary_case(sprintf("bin_s%d_%02d", seed, i), a, n1, c, n2, year, group, mod)
}
