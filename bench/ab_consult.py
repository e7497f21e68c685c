"""One line of CPU medians for A/B runs of two checkouts under the same machine load.

    PYTHONPATH=/path/to/other python bench/ab_consult.py other
    PYTHONPATH=/path/to/this  python bench/ab_consult.py this       # alternate the two, several times

Over every curated name and synonym (bench.py's queries), after a warm-up round: ``fresh``, a whole
``advisor.consult`` with reuse off (``MSC_EV_NO_REUSE=1``: the engine runs each time; a checkout without
reuse ignores it); ``engine``, ``engine.run`` alone on the prepared facts; ``prepare``; ``reused``,
``advisor.consult`` with reuse on (a checkout without reuse runs the engine again). On a shared machine
the absolute figures move with the load; two checkouts run one after the other compare fairly.
"""
import sys, time, statistics, importlib, os, json
from msc_ev import advisor
C = importlib.import_module("msc_ev.advisor.consult")
E = importlib.import_module("msc_ev.advisor.engine")
kb = advisor.load_kb()
texts=[]
for did in sorted(kb.diseases):
    d=kb.diseases[did]; texts += [did, d["name"], *(d.get("synonyms") or ())]
items=[]
for t in texts:
    try: items.append((t, advisor.resolve(kb,t)))
    except advisor.AdvisorError: pass
cons = C.normalise_constraints(kb, C.Constraints())
def tm(f, rounds=3):
    ts=[]
    for _ in range(rounds):
        for t,r in items:
            s=time.process_time(); f(t,r); ts.append(time.process_time()-s)
    return round(statistics.median(ts)*1000,3)
os.environ["MSC_EV_NO_REUSE"]="1"
for t,_ in items: advisor.consult(kb,t)
out={"fresh": tm(lambda t,r: advisor.consult(kb,t))}
pre={t:C.prepare(kb,r,cons) for t,r in items}
out["engine"]=tm(lambda t,r: E.run(pre[t], kb.weights))
out["prepare"]=tm(lambda t,r: C.prepare(kb,r,cons))
del os.environ["MSC_EV_NO_REUSE"]
for t,_ in items: advisor.consult(kb,t)
out["reused"]=tm(lambda t,r: advisor.consult(kb,t))
print(sys.argv[1], json.dumps(out), flush=True)
