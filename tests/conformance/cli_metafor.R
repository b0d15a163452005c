# metafor's results for the views of `python -m core sensitivity` and `bias`.
# Usage: Rscript tests/conformance/cli_metafor.R IN.json OUT.json
# IN: a list of cases, each the included studies of one link, in the view's data order:
#   yi, vi (log ratios); ai, n1i, ci, n2i (2x2 counts, or null for hazard ratios);
#   method, test ("z" | "knha"), tf_method; year, score, moderator (NA = missing); order.
# OUT: per case what metafor prints for the same analyses (see test_cli_metafor.py).
suppressMessages(library(metafor)); library(jsonlite)
args <- commandArgs(TRUE)
cases <- fromJSON(args[1], simplifyVector = FALSE)
ctl <- list(threshold = 1e-12, tol = 1e-13, maxiter = 10000, stepadj = 0.5)
methods <- c("DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB")
# a JSON array (null = NA) as a numeric vector
num <- function(x) vapply(x, function(v) if (is.null(v)) NA_real_ else as.numeric(v), 0)

fitsum <- function(res) {
  p <- predict(res)
  list(estimate = as.numeric(res$beta), se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub,
       stat = as.numeric(res$zval), pvalue = res$pval, tau2 = res$tau2, i2 = res$I2, h2 = res$H2,
       q = res$QE, q_pvalue = res$QEp, k = res$k,
       pi_low = na(p$pi.lb), pi_high = na(p$pi.ub),
       weights = as.numeric(weights(res)))
}

# a value metafor does not print (e.g. no prediction interval for a common-effect model): NA
na <- function(x) if (length(x)) as.numeric(x) else NA_real_
# tau2 of common-effect fits, which metafor does not print: 0 by the model's definition
tau2_of <- function(x, k) if (is.null(x)) rep(0, k) else x

one_case <- function(cs) {
  yi <- num(cs$yi); vi <- num(cs$vi); k <- length(yi)
  out <- list()
  counts <- !is.null(cs$ai)
  if (counts) {
    cs$ai <- num(cs$ai); cs$n1i <- num(cs$n1i); cs$ci <- num(cs$ci); cs$n2i <- num(cs$n2i)
    es <- escalc(measure = "OR", ai = cs$ai, n1i = cs$n1i, ci = cs$ci, n2i = cs$n2i)
    out$escalc <- list(yi = as.numeric(es$yi), vi = as.numeric(es$vi))
    yi <- as.numeric(es$yi); vi <- as.numeric(es$vi)
  }
  fit <- rma(yi, vi, method = cs$method, test = cs$test, control = ctl)
  out$pooled <- fitsum(fit)
  # Egger's mixed-effects test, trim and fill: on the z-test fit, as the page labels them
  fit_z <- rma(yi, vi, method = cs$method, control = ctl)
  if (k >= 3) {
    l1 <- leave1out(fit)
    out$leave1out <- list(estimate = l1$estimate, se = l1$se, stat = l1$zval, pvalue = l1$pval,
                          ci_low = l1$ci.lb, ci_high = l1$ci.ub, q = l1$Q, tau2 = tau2_of(l1$tau2, k),
                          i2 = l1$I2)
    inf <- influence(fit)$inf
    out$influence <- list(rstudent = inf$rstudent, dffits = inf$dffits, cook_d = inf$cook.d,
                          cov_r = inf$cov.r, tau2_del = inf$tau2.del, qe_del = inf$QE.del,
                          hat = inf$hat, weight = inf$weight, influential = inf$inf == "*")
    pdf(NULL)
    bj <- baujat(fit)
    invisible(dev.off())
    out$baujat <- list(x = bj$x, y = bj$y)
    eg <- regtest(fit_z, model = "lm")
    out$egger_lm <- list(stat = eg$zval, pvalue = eg$pval, df = eg$dfs,
                         slope = coef(summary(eg$fit))[2, 1], slope_se = coef(summary(eg$fit))[2, 2],
                         limit_estimate = eg$est, limit_ci_low = eg$ci.lb, limit_ci_high = eg$ci.ub)
    eg2 <- regtest(fit_z)
    out$egger_rma <- list(stat = eg2$zval, pvalue = eg2$pval, slope = as.numeric(eg2$fit$beta[2]),
                          slope_se = eg2$fit$se[2], tau2 = eg2$fit$tau2,
                          limit_estimate = eg2$est, limit_ci_low = eg2$ci.lb,
                          limit_ci_high = eg2$ci.ub)
    rk <- ranktest(fit_z)
    out$begg <- list(tau = as.numeric(rk$tau), pvalue = rk$pval)
    tf <- trimfill(rma(yi, vi, method = cs$tf_method, control = ctl))
    out$trimfill <- list(k0 = tf$k0, se_k0 = tf$se.k0, side = tf$side,
                         estimate = as.numeric(tf$beta), se = tf$se, ci_low = tf$ci.lb,
                         ci_high = tf$ci.ub, stat = as.numeric(tf$zval), pvalue = tf$pval,
                         tau2 = tf$tau2, i2 = tf$I2, q = tf$QE, k = tf$k,
                         filled_yi = as.numeric(tf$yi[tf$fill]),
                         filled_vi = as.numeric(tf$vi[tf$fill]))
  }
  if (k >= 2) {
    year <- num(cs$year); score <- num(cs$score)
    perm <- if (cs$order == "year") order(year) else order(-score, year)
    rank <- integer(k); rank[perm] <- seq_len(k)
    cu <- cumul(fit, order = rank)
    out$cumul <- list(order = perm, estimate = cu$estimate, se = cu$se, pvalue = cu$pval,
                      ci_low = cu$ci.lb, ci_high = cu$ci.ub, tau2 = tau2_of(cu$tau2, k), i2 = cu$I2)
    est <- list()
    for (m in methods) for (t in c("z", "knha")) {
      est[[paste(m, t)]] <- fitsum(rma(yi, vi, method = m, test = t, control = ctl))
    }
    est[["EE z"]] <- fitsum(rma(yi, vi, method = "EE"))
    if (counts) {
      mh <- rma.mh(ai = cs$ai, n1i = cs$n1i, ci = cs$ci, n2i = cs$n2i, measure = "OR")
      est[["MH"]] <- list(estimate = as.numeric(mh$beta), se = mh$se, ci_low = mh$ci.lb,
                          ci_high = mh$ci.ub, pvalue = mh$pval, i2 = mh$I2, k = mh$k)
      pt <- rma.peto(ai = cs$ai, n1i = cs$n1i, ci = cs$ci, n2i = cs$n2i)
      est[["Peto"]] <- list(estimate = as.numeric(pt$beta), se = pt$se, ci_low = pt$ci.lb,
                            ci_high = pt$ci.ub, pvalue = pt$pval, i2 = pt$I2, k = pt$k)
    }
    out$estimators <- est
    scores <- sort(unique(score[!is.na(score)]))
    if (length(scores) >= 2) {
      out$quality_sweep <- lapply(scores, function(q) {
        s <- !is.na(score) & score >= q
        c(list(qmin = q, members = which(s)),
          fitsum(rma(yi[s], vi[s], method = cs$method, test = cs$test, control = ctl)))
      })
    }
  }
  x <- num(cs$moderator); has <- !is.na(x)
  if (sum(has) >= 3 && diff(range(x[has])) > 0) {
    mr <- rma(yi[has], vi[has], mods = ~ x[has], method = cs$method, test = cs$test,
              control = ctl)
    grid <- seq(min(x[has]), max(x[has]), length.out = 5)
    pr <- predict(mr, newmods = grid)
    out$metareg <- list(coef = as.numeric(mr$beta), se = mr$se, stat = mr$zval,
                        pvalue = mr$pval, ci_low = mr$ci.lb, ci_high = mr$ci.ub, qm = mr$QM,
                        qm_pvalue = mr$QMp, qe = mr$QE, qe_pvalue = mr$QEp, tau2 = mr$tau2,
                        i2 = mr$I2, r2 = if (is.null(mr$R2)) NA else mr$R2, k = mr$k,
                        weights = as.numeric(weights(mr)), fitted = as.numeric(fitted(mr)),
                        grid = grid, pred = as.numeric(pr$pred), pred_low = as.numeric(pr$ci.lb),
                        pred_high = as.numeric(pr$ci.ub))
  }
  out
}

result <- lapply(cases, one_case)
names(result) <- vapply(cases, function(cs) cs$name, "")
writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, null = "null", na = "null"), args[2])
