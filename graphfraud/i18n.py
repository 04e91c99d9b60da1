"""Every user-facing text in Chinese (the default) and English.

The language is chosen by ``set_lang`` (the CLI's ``--lang``) or the ``GRAPHFRAUD_LANG``
environment variable; texts are looked up with ``t(key, **params)``.
"""

from __future__ import annotations

import os

LANGS = ("zh", "en")
_lang: str | None = None

MESSAGES: dict[str, dict[str, str]] = {
    # errors
    "error_prefix": {"zh": "错误", "en": "Error"},
    "mapping_missing": {"zh": "找不到映射文件 {path}", "en": "mapping file {path} not found"},
    "mapping_invalid": {"zh": "映射文件 {path} 有误：{detail}", "en": "mapping file {path} is invalid: {detail}"},
    "dataset_missing": {"zh": "数据目录 {path} 不存在", "en": "dataset folder {path} does not exist"},
    "required_table_missing": {
        "zh": "数据目录 {path} 中缺少必需的表 {table}（应为 {table}.csv、.csv.gz、.parquet 或 .xlsx，或映射中列出的文件名）",
        "en": "dataset folder {path} has no {table} table (expected {table}.csv, .csv.gz, .parquet or .xlsx, or a file name listed in the mapping)",
    },
    "required_column_missing": {
        "zh": "文件 {file} 缺少必需的列 {column}（映射 {mapping}，第 1 行表头：{headers}）",
        "en": "file {file} lacks the required column {column} (mapping {mapping}; header on line 1: {headers})",
    },
    "duplicate_header": {
        "zh": "文件 {file} 第 1 行的表头有重复的列 {column}",
        "en": "file {file} has the column {column} twice in its header on line 1",
    },
    "empty_file": {"zh": "文件 {file} 是空的，没有表头", "en": "file {file} is empty: no header line"},
    "unreadable_file": {"zh": "无法读取文件 {file}：{detail}", "en": "cannot read file {file}: {detail}"},
    "key_mismatch": {
        "zh": "工作区 {workspace} 是用另一把假名化密钥建立的（指纹 {expected}，当前 {actual}）；请使用原密钥（GRAPHFRAUD_KEY 或 --key-file）",
        "en": "workspace {workspace} was built with another pseudonymisation key (fingerprint {expected}, now {actual}); use the original key (GRAPHFRAUD_KEY or --key-file)",
    },
    "key_too_short": {
        "zh": "GRAPHFRAUD_KEY 太短：至少需要 16 个字符",
        "en": "GRAPHFRAUD_KEY is too short: it needs at least 16 characters",
    },
    "key_file_bad": {"zh": "密钥文件 {path} 无效：{detail}", "en": "key file {path} is invalid: {detail}"},
    "workspace_missing": {
        "zh": "工作区 {workspace} 不存在；先运行 graphfraud ingest",
        "en": "workspace {workspace} does not exist; run graphfraud ingest first",
    },
    "out_dir_not_empty": {
        "zh": "输出目录 {path} 非空；换一个目录或加 --force",
        "en": "output folder {path} is not empty; choose another or add --force",
    },
    "bad_option": {"zh": "参数 {option} 无效：{detail}", "en": "option {option} is invalid: {detail}"},
    # progress and reports
    "reading_file": {"zh": "读取 {file}", "en": "reading {file}"},
    "ingest_done": {
        "zh": "导入完成：运行 {run_id}，用时 {seconds:.1f} 秒，工作区 {workspace}",
        "en": "ingest done: run {run_id}, {seconds:.1f} s, workspace {workspace}",
    },
    "ingest_table_line": {
        "zh": "{table:<11} 输入 {input:>10,}  载入 {loaded:>10,}  重复 {duplicate:>8,}  拒绝 {rejected:>8,}",
        "en": "{table:<11} input {input:>10,}  loaded {loaded:>10,}  duplicate {duplicate:>8,}  rejected {rejected:>8,}",
    },
    "ingest_reason_line": {"zh": "    拒绝原因 {reason}：{count:,}", "en": "    rejected for {reason}: {count:,}"},
    "ingest_flag_line": {"zh": "已载入但标记：{flag}：{count:,}", "en": "loaded but flagged: {flag}: {count:,}"},
    "ingest_mapping_line": {
        "zh": "{file}：映射 {mapping}，编码 {encoding}",
        "en": "{file}: mapping {mapping}, encoding {encoding}",
    },
    "ingest_ignored_columns": {
        "zh": "{file}：未知列 {columns} 已作为附加属性保存",
        "en": "{file}: unknown columns {columns} kept as extra properties",
    },
    "ingest_unknown_file": {
        "zh": "忽略无法识别的文件 {file}",
        "en": "ignored {file}: not a table of the data contract",
    },
    "generate_done": {
        "zh": "已生成模拟地区：{patients:,} 名参保人，{claims:,} 条结算，{items:,} 条明细，写入 {out}（真值文件 {truth}），用时 {seconds:.1f} 秒",
        "en": "generated a synthetic region: {patients:,} patients, {claims:,} claims, {items:,} items in {out} (truth file {truth}), {seconds:.1f} s",
    },
    "progress_generate": {"zh": "生成", "en": "generating"},
    "gen_step.patients": {"zh": "参保人", "en": "patients"},
    "gen_step.facilities": {"zh": "定点机构与医师", "en": "facilities and doctors"},
    "gen_step.claims": {"zh": "日常结算", "en": "background claims"},
    "gen_step.planting": {"zh": "预埋团伙与线索", "en": "planting rings and leads"},
    "gen_step.cleaning": {"zh": "清理背景", "en": "cleaning the background"},
    "gen_step.items": {"zh": "费用明细", "en": "items"},
    "gen_step.writing claims": {"zh": "写出结算", "en": "writing claims"},
    "gen_step.writing items": {"zh": "写出明细", "en": "writing items"},
    "demo_step": {"zh": "== {step} ==", "en": "== {step} =="},
    "demo_generate": {"zh": "生成模拟数据", "en": "generating synthetic data"},
    "demo_ingest": {"zh": "导入工作区", "en": "ingesting into the workspace"},
    "demo_done": {
        "zh": "演示完成。工作区：{workspace}；数据：{dataset}；检测结果：{results}",
        "en": "demo finished. Workspace: {workspace}; data: {dataset}; detection results: {results}",
    },
    "status_header": {"zh": "工作区 {workspace}", "en": "workspace {workspace}"},
    "status_table_line": {"zh": "{table:<11} {rows:>12,} 行", "en": "{table:<11} {rows:>12,} rows"},
    "status_runs": {"zh": "导入运行：{runs} 次，最近一次 {last}", "en": "ingest runs: {runs}, latest {last}"},
    "status_detect": {
        "zh": "检测运行：{runs} 次，最近一次 {last}：团伙 {rings} 个（{over} 个达到移送标准），结果在 {out}",
        "en": "detection runs: {runs}, latest {last}: {rings} rings ({over} over the transfer threshold), results in {out}",
    },
    "rejects_header": {
        "zh": "拒绝行（共 {total:,} 行，显示 {shown:,} 行）",
        "en": "rejected rows ({total:,} in all, {shown:,} shown)",
    },
    "rejects_line": {
        "zh": "{file} 第 {line} 行 {column}：{reason_text}",
        "en": "{file} line {line} {column}: {reason_text}",
    },
    # detection
    "no_claims": {"zh": "工作区 {workspace} 中没有结算数据；先运行 graphfraud ingest",
                  "en": "workspace {workspace} holds no claims; run graphfraud ingest first"},
    "settings_missing": {"zh": "找不到参数文件 {path}", "en": "settings file {path} not found"},
    "settings_invalid": {"zh": "参数文件 {path} 中 {setting} 有误：{detail}",
                         "en": "settings file {path}: {setting} is invalid: {detail}"},
    "detect_step": {"zh": "检测 {kind}", "en": "detecting {kind}"},
    "detect_kind_line": {"zh": "{kind:<10} 团伙 {rings:>5,}  （显著配对 {pairs:,}，用时 {seconds:.1f} 秒）",
                         "en": "{kind:<18} rings {rings:>5,}  ({pairs:,} significant pairs, {seconds:.1f} s)"},
    "detect_kind_line_plain": {"zh": "{kind:<10} 团伙 {rings:>5,}  （用时 {seconds:.1f} 秒）",
                               "en": "{kind:<18} rings {rings:>5,}  ({seconds:.1f} s)"},
    "detect_changes": {
        "zh": "与上次相比：新增 {new}，不变 {same}，扩大 {grown}，缩小 {shrunk}，变化 {changed}，消失 {dissolved}",
        "en": "against the previous run: {new} new, {same} same, {grown} grown, {shrunk} shrunk, {changed} changed, "
              "{dissolved} dissolved",
    },
    "detect_top_header": {"zh": "可疑度最高的 {n} 个团伙：", "en": "the {n} most suspicious rings:"},
    "detect_top_columns": {
        "zh": "名次  团伙编号        类型        评分  成员  结算   金额（元）      日期                    移送",
        "en": "rank  ring id         kind             score  memb claims  amount (yuan)   dates                   police",
    },
    "detect_top_line": {
        "zh": "{rank:>4}  {ring_id:<14}  {kind}  {score:>5.1f}  {members:>4}  {claims:>5}  {amount:>14}  {dates:<22}  {over}",
        "en": "{rank:>4}  {ring_id:<14}  {kind}  {score:>5.1f}  {members:>4}  {claims:>5}  {amount:>14}  {dates:<22}  {over}",
    },
    "detect_top_reason": {"zh": "      理由：{text}", "en": "      why: {text}"},
    "detect_done": {
        "zh": "检测完成：运行 {run_id}，团伙 {rings} 个（{over} 个达到移送标准），用时 {seconds:.1f} 秒，结果在 {out}",
        "en": "detection done: run {run_id}, {rings} rings ({over} over the transfer threshold), {seconds:.1f} s, "
              "results in {out}",
    },
    "detect_leads_header": {"zh": "线索 {n} 条（用时 {seconds:.1f} 秒）：", "en": "{n} leads ({seconds:.1f} s):"},
    "detect_leads_line": {"zh": "  {kind} {n:>6,} 条  {amount:>14} 元", "en": "  {kind} {n:>6,}  {amount:>14} yuan"},
    "lead.after_death": {"zh": "死亡后结算", "en": "settled after death"},
    "lead.impossible_travel": {"zh": "不可能的行程", "en": "impossible travel"},
    "lead.used_while_inpatient": {"zh": "住院期间外院结算", "en": "used while inpatient"},
    "lead.overlapping_supply": {"zh": "重复开药超量", "en": "overlapping supply"},
    "lead.split_admission": {"zh": "分解住院", "en": "split admission"},
    "lead.duplicate_claim": {"zh": "重复结算", "en": "duplicate claim"},
    "lead.demographic_mismatch": {"zh": "性别年龄不符", "en": "demographic mismatch"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "demo_detect": {"zh": "检测团伙", "en": "detecting rings"},
    "kind.card_collection": {"zh": "聚敛盗刷", "en": "card collection"},
    "kind.cohort_admission": {"zh": "虚假住院", "en": "cohort admission"},
    "kind.drug_resale": {"zh": "药品倒卖", "en": "drug resale"},
    "kind.doctor_pharmacy": {"zh": "医药串通", "en": "doctor-pharmacy"},
    "kind.shared_identity": {"zh": "共用身份", "en": "shared identity"},
    "kind.trace_code_reuse": {"zh": "追溯码重复", "en": "trace-code reuse"},
    "kind.leads": {"zh": "单项线索", "en": "leads"},
    # reject reasons
    "reason.malformed_row": {"zh": "字段数量不对或引号不配对", "en": "wrong number of fields or broken quoting"},
    "reason.bad_encoding": {"zh": "含有不属于该文件编码的字节", "en": "bytes that are not valid text in the file's encoding"},
    "reason.missing_required": {"zh": "必填字段为空", "en": "a required field is empty"},
    "reason.bad_date": {"zh": "日期或时间无法识别", "en": "a date or time that cannot be read"},
    "reason.bad_amount": {"zh": "金额不是最多两位小数的数字", "en": "an amount that is not a number with at most two decimals"},
    "reason.bad_number": {"zh": "数量或数值无法识别", "en": "a quantity or number that cannot be read"},
    "reason.bad_enum": {"zh": "取值不在允许的范围内", "en": "a value outside the allowed set"},
    "reason.bad_region": {"zh": "行政区划代码不是 6 位数字", "en": "an administrative code that is not 6 digits"},
    "reason.bad_date_order": {"zh": "出院日期早于入院日期", "en": "discharge date before admission date"},
    "reason.conflicting_duplicate": {
        "zh": "编号已出现过但内容不同",
        "en": "an id seen before with different content",
    },
    "reason.unknown_patient": {"zh": "参保人编号不存在", "en": "unknown patient id"},
    "reason.unknown_card": {"zh": "医保卡号不存在", "en": "unknown card id"},
    "reason.unknown_facility": {"zh": "定点医药机构编码不存在", "en": "unknown facility id"},
    "reason.unknown_doctor": {"zh": "医师编码不存在", "en": "unknown doctor id"},
    "reason.unknown_claim": {"zh": "结算ID不存在", "en": "unknown claim id"},
    # flags on loaded rows
    "flag.id_number_invalid": {
        "zh": "身份证号校验位错误（GB 11643）",
        "en": "citizen ID number fails the GB 11643 check digit",
    },
    "flag.reversal_unlinked": {"zh": "冲销记录找不到被冲销的结算", "en": "reversal whose cancelled claim is not loaded"},
    "flag.amount_parts_mismatch": {
        "zh": "统筹、个人账户与现金支付之和不等于总额",
        "en": "fund, account and self parts do not add up to the total",
    },
    # neo4j
    "neo4j_uri_missing": {
        "zh": "没有指定 Neo4j 地址：请用 --neo4j bolt://主机:7687，或设置环境变量 NEO4J_URI",
        "en": "no Neo4j address: give --neo4j bolt://HOST:7687 or set NEO4J_URI",
    },
    "neo4j_auth": {
        "zh": "Neo4j {uri} 拒绝了用户名或密码；请检查 --neo4j-user/--neo4j-password 或 NEO4J_USERNAME/NEO4J_PASSWORD",
        "en": "Neo4j at {uri} refused the user name or password; check --neo4j-user/--neo4j-password or NEO4J_USERNAME/NEO4J_PASSWORD",
    },
    "neo4j_unreachable": {
        "zh": "无法连接 Neo4j {uri}（{detail}）；请确认服务已启动（docker compose up -d）且地址正确",
        "en": "cannot reach Neo4j at {uri} ({detail}); check that it is running (docker compose up -d) and the address is right",
    },
    "query_unknown": {"zh": "查询库中没有 {name}；可用：{names}", "en": "no query {name} in the library; available: {names}"},
    "query_param_unknown": {
        "zh": "查询 {name} 没有参数 {params}；它的参数是：{expected}",
        "en": "query {name} has no parameter {params}; its parameters are: {expected}",
    },
    "query_param_missing": {
        "zh": "查询 {name} 需要参数 {param}：请加 --param {param}=值",
        "en": "query {name} needs the parameter {param}: add --param {param}=VALUE",
    },
    "bulk_import_failed": {
        "zh": "导入失败：{detail}。可以手动运行：{command}",
        "en": "the import failed: {detail}. You can run it by hand: {command}",
    },
    "progress_load": {"zh": "载入 Neo4j", "en": "loading into Neo4j"},
    "load_resumed": {
        "zh": "继续上次中断的载入：已提交的批次跳过",
        "en": "resuming an interrupted load: batches already committed are skipped",
    },
    "load_table_line": {
        "zh": "{table} 写入 {rows:,} 行，新建节点 {nodes:,}、关系 {rels:,}，续传跳过 {skipped} 批，每秒 {rate} 行",
        "en": "{table} {rows:,} rows written, {nodes:,} nodes and {rels:,} relationships created, {skipped} batches resumed, {rate} rows/s",
    },
    "load_done": {
        "zh": "载入完成：{rows:,} 行写入 {uri}，用时 {seconds} 秒（每秒 {rate} 行、{rels_rate} 条新关系）；汇总边 {agg} 秒",
        "en": "load done: {rows:,} rows into {uri} in {seconds} s ({rate} rows/s, {rels_rate} new relationships/s); aggregated edges {agg} s",
    },
    "bulk_written": {
        "zh": "已写出导入文件：{nodes:,} 个节点、{rels:,} 条关系，目录 {dir}，用时 {seconds} 秒",
        "en": "wrote import files: {nodes:,} nodes and {rels:,} relationships in {dir}, {seconds} s",
    },
    "bulk_command": {
        "zh": "在停止的 Neo4j 上运行下面的命令导入（会替换该数据库），再运行 graphfraud load --neo4j 建约束与汇总边：\n{command}",
        "en": "run this on the stopped Neo4j to import (the database is replaced), then graphfraud load --neo4j for constraints and aggregated edges:\n{command}",
    },
    "bulk_imported": {
        "zh": "已导入 {records:,} 条记录到 {home}，用时 {seconds} 秒（每秒 {rate} 条）",
        "en": "imported {records:,} records into {home} in {seconds} s ({rate} records/s)",
    },
    "detect_neo4j_written": {
        "zh": "{rings} 个团伙与 {leads} 条线索已写回 {uri}（Ring、Lead 节点）",
        "en": "{rings} rings and {leads} leads written back into {uri} (Ring and Lead nodes)",
    },
    "query_list_line": {"zh": "{name}：{summary}（参数：{params}）", "en": "{name}: {summary} (parameters: {params})"},
    "query_rows": {"zh": "共 {n} 行，显示 {shown} 行", "en": "{n} rows, {shown} shown"},
}


def set_lang(lang: str | None) -> None:
    """Choose the language of every later message (``zh`` or ``en``)."""
    global _lang
    if lang is not None and lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}")
    _lang = lang


def get_lang() -> str:
    if _lang:
        return _lang
    env = os.environ.get("GRAPHFRAUD_LANG", "").lower()
    return env if env in LANGS else "zh"


def t(key: str, lang: str | None = None, **params: object) -> str:
    """The text of ``key`` in ``lang`` (default: the current language), formatted."""
    entry = MESSAGES[key]
    return entry[lang or get_lang()].format(**params)
