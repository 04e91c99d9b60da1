"""Word lists and catalogues for the synthetic region (``graphfraud.synth.generate``).

Everything here is fixed data: names, places, departments, diagnoses and the item catalogue
(drugs, services, consumables). The generator draws from these lists with its own seeded
random generator, so the catalogue itself never depends on the seed.
"""

from __future__ import annotations

# ---------------------------------------------------------------- places
#: The prefecture the synthetic region covers (Kunming, 昆明市): county-level code, name,
#: centroid latitude and longitude, share of the population.
PROVINCE_CITY = "云南省昆明市"
LOCAL_REGIONS: tuple[tuple[str, str, float, float, float], ...] = (
    ("530102", "五华区", 25.043, 102.704, 0.13),
    ("530103", "盘龙区", 25.116, 102.751, 0.12),
    ("530111", "官渡区", 25.015, 102.748, 0.17),
    ("530112", "西山区", 24.968, 102.664, 0.12),
    ("530113", "东川区", 26.083, 103.188, 0.03),
    ("530114", "呈贡区", 24.886, 102.822, 0.07),
    ("530115", "晋宁区", 24.669, 102.595, 0.04),
    ("530124", "富民县", 25.222, 102.498, 0.02),
    ("530125", "宜良县", 24.919, 103.142, 0.05),
    ("530126", "石林彝族自治县", 24.772, 103.290, 0.03),
    ("530127", "嵩明县", 25.338, 103.037, 0.04),
    ("530128", "禄劝彝族苗族自治县", 25.551, 102.471, 0.04),
    ("530129", "寻甸回族彝族自治县", 25.559, 103.256, 0.04),
    ("530181", "安宁市", 24.919, 102.478, 0.10),
)
#: Central districts where the big (tertiary) hospitals are.
CENTRAL_REGIONS = ("530102", "530103", "530111", "530112")
#: Regions where some residents of the prefecture are insured (migrants), not local.
OUTSIDE_INSURED: tuple[tuple[str, str], ...] = (
    ("530302", "曲靖市麒麟区"),
    ("532301", "楚雄市"),
    ("510107", "成都市武侯区"),
    ("520102", "贵阳市南明区"),
    ("440106", "广州市天河区"),
)
#: Far cities (> 1000 km from Kunming) with facilities used in cross-region care (异地就医).
FAR_CITIES: tuple[tuple[str, str, float, float], ...] = (
    ("110105", "北京市朝阳区", 39.921, 116.443),
    ("310115", "上海市浦东新区", 31.221, 121.544),
    ("440106", "广州市天河区", 23.125, 113.361),
)

ROADS = (
    "人民路", "青年路", "北京路", "东风路", "滇池路", "环城南路", "西昌路", "白塔路", "金碧路",
    "穿金路", "龙泉路", "白云路", "世博路", "春城路", "关上路", "民航路", "昌宏路", "广福路",
    "西园路", "前兴路", "日新路", "新闻路", "兴苑路", "学府路", "建设路", "圆通街", "正义路",
    "书林街", "南屏街", "小康大道", "二环西路", "三市街", "拓东路", "长春路", "教场路", "凤凰路",
    "文化路", "中山路", "解放路", "振兴路", "团结路", "和平路", "迎宾路", "盘江路", "春雨路",
    "彩云路", "官南大道", "海埂路", "滇缅大道", "昆福路",
)
COMPOUNDS = (
    "翠湖花园", "金色家园", "世纪城", "阳光小区", "滇池卫城", "春城花园", "云秀康园", "佳华广场",
    "金江小区", "北辰小区", "银海领域", "新迎小区", "书香门第", "锦苑小区", "怡景园", "天骄北麓",
    "南亚风情园", "江东花园", "俊发城", "万科城", "融城园城", "德润家园", "龙泉小区", "白云小区",
    "鑫苑小区", "金康园", "红塔小区", "莲花小区", "丽水云天", "滇池明珠", "金星小区", "人和小区",
    "兴和小区", "福德小区", "梁源小区", "康乐小区", "幸福家园", "和谐佳园", "泛亚城", "星耀城",
)
STREETS = ("华山街道", "护国街道", "大观街道", "龙翔街道", "拓东街道", "鼓楼街道", "东华街道", "金马街道",
           "关上街道", "西福街道", "马街街道", "碧鸡街道", "龙城街道", "太平街道", "连然街道", "昆阳街道")

# ---------------------------------------------------------------- people
SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯",
    "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "覃", "武", "戴",
    "莫", "孔", "向", "汤",
)
GIVEN_MALE = (
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "欢", "阳",
    "建", "亮", "成", "佳", "兵", "峰", "志", "国", "文", "东", "海", "振", "德", "福", "荣", "祥",
    "云", "昆",
)
GIVEN_FEMALE = (
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "英", "玲", "燕", "萍", "红", "梅", "琳",
    "雪", "婷", "慧", "莉", "兰", "倩", "颖", "洁", "琴", "云", "丹", "蓉", "珊", "玉", "凤", "月",
    "春", "晶", "璐", "媛", "欣", "怡", "佳", "思", "雨", "萱",
)
#: Three-digit mobile prefixes (中国大陆手机号段), all starting 13-19.
PHONE_PREFIXES = (
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 153, 155, 156, 157,
    158, 159, 166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
    191, 198, 199,
)

# ---------------------------------------------------------------- facilities
PHARMACY_BRANDS = ("一心堂", "健之佳", "老百姓大药房", "益丰大药房", "大参林", "鸿翔药业", "云南白药大药房",
                   "同仁堂", "海王星辰", "百姓缘大药房", "圣爱大药房", "福林堂")
HOSPITAL_KINDS = ("人民医院", "中医医院", "第二人民医院", "妇幼保健院", "骨科医院", "康复医院", "仁爱医院",
                  "协和医院", "博爱医院", "中西医结合医院", "同仁医院", "康宁医院")
CLINIC_KINDS = ("社区卫生服务中心", "门诊部", "诊所", "卫生院")
#: Hospital levels (机构等级) with their share among hospitals and their pull on patients.
HOSPITAL_LEVELS: tuple[tuple[str, float, float], ...] = (
    ("三级甲等", 0.12, 8.0),
    ("三级乙等", 0.08, 5.0),
    ("二级甲等", 0.28, 3.0),
    ("二级乙等", 0.17, 2.0),
    ("一级", 0.35, 1.0),
)
CLINIC_LEVELS = ("一级", "未定级")
DEPARTMENTS = ("内科", "心血管内科", "内分泌科", "呼吸内科", "消化内科", "神经内科", "肾内科", "骨科",
               "普外科", "泌尿外科", "儿科", "妇产科", "眼科", "耳鼻喉科", "皮肤科", "中医科",
               "康复医学科", "急诊科", "肿瘤科")
CLINIC_DEPARTMENTS = ("全科", "内科", "中医科")

# ---------------------------------------------------------------- diagnoses (ICD-10)
DX_ADULT_OUT = ("I10", "E11.9", "E78.5", "I25.1", "J06.9", "J20.9", "J18.9", "K29.7", "K21.0", "M54.5",
                "M17.1", "M47.8", "R51", "G47.0", "L30.9", "H10.9", "J44.9", "K59.0", "I63.9", "F41.9",
                "E03.9", "M81.0", "N18.5", "Z00.0")
DX_CHILD_OUT = ("J06.9", "J20.9", "A09", "J45.9", "H66.9", "R50.9", "L20.9")
DX_FEMALE_OUT = ("N76.0", "N95.1", "D25.9")
DX_PREGNANCY_OUT = ("O26.9", "O21.0", "Z34.9")
DX_MALE_OUT = ("N40", "N41.0")
DX_ADULT_IN = ("I63.9", "J18.9", "I25.1", "I50.9", "J44.1", "K80.2", "M17.1", "E11.9", "N18.5", "S72.0",
               "C34.9", "I10", "K35.8", "H25.9", "M54.5")
DX_CHILD_IN = ("J18.9", "J20.9", "A09", "K35.8")
DX_FEMALE_IN = ("D25.9",)
DX_PREGNANCY_IN = ("O80",)
DX_MALE_IN = ("N40", "C61")
#: Diagnoses of the fake cohorts (虚假住院): vague, sex-neutral, common in induced admissions.
DX_COHORT = ("I63.9", "M54.5", "I25.1", "J44.9", "M47.8", "E11.9", "I67.8")
#: Diagnoses of the hard region's look-alikes and camouflaged schemes: mass admissions (food
#: poisoning, injuries), dialysis and rehabilitation wards, and the codes a cohort scheme varies
#: its billing over (stroke and its sequelae, back pain and disc disease).
DX_HARD = ("A05.9", "T62.9", "S06.0", "S82.2", "S22.3", "N18.5", "Z49.1", "Z50.1", "I69.3", "I63.5", "I63.8",
           "M51.2", "M54.4", "I20.9", "J44.1", "J18.0")
#: Chronic conditions of the regulars: diagnosis, share, drug groups refilled.
CHRONIC = (("I10", 0.45), ("E11.9", 0.25), ("E78.5", 0.15), ("I25.1", 0.15))

# ---------------------------------------------------------------- item catalogue
# Drugs: generic name, ATC-like class (5 chars), unit price in fen (one box), days one box
# lasts (0 = not counted in days), group. Groups:
#   general  - sold to adults anywhere          chronic_<dx> - monthly refills of a condition
#   child    - paediatric forms, children only   male / female - sex-specific
#   pregnancy - women 18-45                      inject - hospital injections and infusions
#   key      - high-value "key drugs" (重点药品) that resale rings target
#   collect  - high-value items collected cards are swiped for (no days of supply)
DRUGS: tuple[tuple[str, str, int, int, str], ...] = (
    ("苯磺酸氨氯地平片", "C08CA", 1850, 28, "chronic_I10"),
    ("硝苯地平控释片", "C08CA", 3260, 28, "chronic_I10"),
    ("缬沙坦胶囊", "C09CA", 2460, 28, "chronic_I10"),
    ("厄贝沙坦片", "C09CA", 1980, 28, "chronic_I10"),
    ("氯沙坦钾片", "C09CA", 2250, 28, "chronic_I10"),
    ("琥珀酸美托洛尔缓释片", "C07AB", 2890, 28, "chronic_I10"),
    ("盐酸二甲双胍片", "A10BA", 1260, 30, "chronic_E11.9"),
    ("格列美脲片", "A10BB", 2130, 30, "chronic_E11.9"),
    ("阿卡波糖片", "A10BF", 3980, 30, "chronic_E11.9"),
    ("阿托伐他汀钙片", "C10AA", 1540, 28, "chronic_E78.5"),
    ("瑞舒伐他汀钙片", "C10AA", 1820, 28, "chronic_E78.5"),
    ("阿司匹林肠溶片", "B01AC", 1560, 30, "chronic_I25.1"),
    ("硫酸氢氯吡格雷片", "B01AC", 3350, 28, "chronic_I25.1"),
    ("单硝酸异山梨酯缓释片", "C01DA", 2460, 28, "chronic_I25.1"),
    ("阿莫西林胶囊", "J01CA", 1280, 7, "general"),
    ("头孢克肟胶囊", "J01DD", 2650, 6, "general"),
    ("左氧氟沙星片", "J01MA", 1890, 5, "general"),
    ("阿奇霉素片", "J01FA", 2240, 3, "general"),
    ("布洛芬缓释胶囊", "M01AE", 1580, 10, "general"),
    ("双氯芬酸钠缓释片", "M01AB", 1320, 10, "general"),
    ("奥美拉唑肠溶胶囊", "A02BC", 1860, 14, "general"),
    ("雷贝拉唑钠肠溶片", "A02BC", 3290, 14, "general"),
    ("铝碳酸镁咀嚼片", "A02AD", 2450, 10, "general"),
    ("蒙脱石散", "A07BC", 1560, 3, "general"),
    ("复方甘草片", "R05CB", 860, 5, "general"),
    ("盐酸氨溴索口服溶液", "R05CB", 2280, 7, "general"),
    ("连花清瘟胶囊", "ZA01A", 1990, 5, "general"),
    ("感冒灵颗粒", "ZA01B", 1250, 3, "general"),
    ("板蓝根颗粒", "ZA01C", 980, 5, "general"),
    ("藿香正气水", "ZA02A", 1160, 3, "general"),
    ("氯雷他定片", "R06AX", 1860, 6, "general"),
    ("盐酸西替利嗪片", "R06AE", 1640, 6, "general"),
    ("地奈德乳膏", "D07AB", 1790, 0, "general"),
    ("莫匹罗星软膏", "D06AX", 2180, 0, "general"),
    ("复方丹参滴丸", "ZC01A", 2680, 10, "general"),
    ("银杏叶片", "ZC01B", 1980, 15, "general"),
    ("甲钴胺片", "B03BA", 3250, 15, "general"),
    ("艾司唑仑片", "N05CD", 680, 10, "general"),
    ("盐酸舍曲林片", "N06AB", 5680, 14, "general"),
    ("硫酸氨基葡萄糖胶囊", "M01AX", 6880, 20, "general"),
    ("骨化三醇软胶囊", "A11CC", 3560, 10, "general"),
    ("碳酸钙D3片", "A12AX", 2980, 30, "general"),
    ("妥布霉素滴眼液", "S01AA", 1560, 0, "general"),
    ("玻璃酸钠滴眼液", "S01XA", 3280, 0, "general"),
    ("云南白药气雾剂", "ZD01A", 2890, 0, "general"),
    ("复方血栓通胶囊", "ZC02A", 3560, 14, "general"),
    ("开塞露", "A06AX", 350, 0, "general"),
    ("乳果糖口服溶液", "A06AD", 3680, 10, "general"),
    ("硝酸甘油片", "C01DA", 1260, 0, "general"),
    ("呋塞米片", "C03CA", 560, 14, "general"),
    ("螺内酯片", "C03DA", 780, 14, "general"),
    ("参松养心胶囊", "ZC03A", 5980, 0, "general"),
    ("医用外用敷料", "D09AA", 1200, 0, "general"),
    ("0.9%氯化钠注射液", "B05XA", 350, 0, "inject"),
    ("5%葡萄糖注射液", "B05BA", 380, 0, "inject"),
    ("注射用头孢曲松钠", "J01DD", 1260, 0, "inject"),
    ("注射用奥美拉唑钠", "A02BC", 2890, 0, "inject"),
    ("低分子肝素钙注射液", "B01AB", 3590, 0, "inject"),
    ("注射用血栓通", "ZC04A", 4260, 0, "inject"),
    ("注射用泮托拉唑钠", "A02BC", 3120, 0, "inject"),
    ("小儿氨酚黄那敏颗粒", "N02BE", 1280, 3, "child"),
    ("小儿肺热咳喘颗粒", "ZE01A", 2380, 3, "child"),
    ("布洛芬混悬液(儿童)", "M01AE", 2160, 3, "child"),
    ("小儿豉翘清热颗粒", "ZE01B", 2860, 3, "child"),
    ("阿莫西林克拉维酸钾干混悬剂(儿童)", "J01CR", 3280, 5, "child"),
    ("小儿消积止咳口服液", "ZE01C", 2680, 4, "child"),
    ("小儿七星茶颗粒", "ZE01D", 1580, 5, "child"),
    ("盐酸坦索罗辛缓释胶囊", "G04CA", 4280, 14, "male"),
    ("非那雄胺片", "G04CB", 5620, 30, "male"),
    ("普适泰片", "G04CX", 3860, 15, "male"),
    ("甲硝唑阴道泡腾片", "G01AF", 1860, 7, "female"),
    ("克霉唑阴道片", "G01AF", 1520, 0, "female"),
    ("妇科千金片", "ZF01A", 2680, 10, "female"),
    ("黄体酮软胶囊", "G03DA", 4680, 10, "pregnancy"),
    ("叶酸片(孕妇)", "B03BB", 1250, 30, "pregnancy"),
    ("甘精胰岛素注射液", "A10AE", 17800, 30, "key"),
    ("门冬胰岛素30注射液", "A10AD", 6580, 30, "key"),
    ("利伐沙班片", "B01AF", 12680, 30, "key"),
    ("司美格鲁肽注射液", "A10BJ", 63900, 28, "key"),
    ("达格列净片", "A10BK", 13500, 30, "key"),
    ("沙库巴曲缬沙坦钠片", "C09DX", 19200, 14, "key"),
    ("甲磺酸奥希替尼片", "L01EB", 510000, 30, "key"),
    ("安宫牛黄丸", "ZG01A", 68000, 0, "collect"),
    ("人血白蛋白", "B05AA", 39800, 0, "collect"),
    ("注射用鼠神经生长因子", "N07XX", 26800, 0, "collect"),
    ("片仔癀胶囊", "ZG01B", 59000, 0, "collect"),
    ("注射用胸腺法新", "L03AX", 23800, 0, "collect"),
    ("复方阿胶浆", "ZG01C", 16800, 0, "collect"),
    ("西洋参含片", "ZG01D", 32800, 0, "collect"),
)
#: The key drug a diabetic regular may legitimately refill every month.
REGULAR_KEY_DRUG = "甘精胰岛素注射液"

# Services (诊疗项目): name, price in fen, kind (consult / test / daily / surgery / therapy).
SERVICES: tuple[tuple[str, int, str], ...] = (
    ("普通门诊诊查费", 1000, "consult"),
    ("副主任医师门诊诊查费", 2000, "consult"),
    ("主任医师门诊诊查费", 3000, "consult"),
    ("血细胞分析(血常规)", 2000, "test"),
    ("尿液分析", 1000, "test"),
    ("肝功能检查", 6500, "test"),
    ("肾功能检查", 4000, "test"),
    ("血糖测定", 800, "test"),
    ("糖化血红蛋白测定", 7000, "test"),
    ("血脂四项", 5000, "test"),
    ("常规心电图检查", 2500, "test"),
    ("胸部X线摄影", 6000, "test"),
    ("X线计算机体层(CT)平扫", 23000, "test"),
    ("磁共振(MRI)平扫", 55000, "test"),
    ("彩色多普勒超声检查", 15000, "test"),
    ("静脉输液", 1200, "therapy"),
    ("肌肉注射", 500, "therapy"),
    ("针刺", 3500, "therapy"),
    ("推拿治疗", 5000, "therapy"),
    ("康复训练", 4000, "therapy"),
    ("床位费(三人间)", 4500, "daily"),
    ("一级护理", 3000, "daily"),
    ("住院诊查费", 2000, "daily"),
    ("关节镜下半月板成形术", 280000, "surgery"),
    ("经皮冠状动脉支架置入术", 450000, "surgery"),
    ("腹腔镜下胆囊切除术", 220000, "surgery"),
    ("白内障超声乳化摘除术", 150000, "surgery"),
    ("血液透析", 42000, "surgery"),
)
# Consumables (医用耗材): name, price in fen, kind (small / high).
CONSUMABLES: tuple[tuple[str, int, str], ...] = (
    ("一次性使用输液器", 300, "small"),
    ("一次性使用无菌注射器", 80, "small"),
    ("静脉留置针", 2500, "small"),
    ("一次性使用导尿包", 2800, "small"),
    ("医用敷贴", 600, "small"),
    ("一次性使用采血针", 60, "small"),
    ("医用棉签", 150, "small"),
    ("冠脉药物洗脱支架", 70000, "high"),
    ("人工髋关节假体", 720000, "high"),
    ("骨科接骨板", 350000, "high"),
    ("一次性使用吻合器", 180000, "high"),
    ("血液透析器", 15000, "high"),
)
