// SPDX-License-Identifier: BSD-3-Clause
module gorttimersbench

go 1.19
