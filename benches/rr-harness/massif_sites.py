#!/usr/bin/env python3
"""Heap at the peak snapshot of a valgrind massif file, summed by the
nearest Reflex frame (bgp_speaker / bgp_proto / bgp_reflector) above the
allocator: where the reflector's peak memory was allocated.

    rr-bench --shapes 10x100k --reflectors ours --repeat 1 \
        --ours-wrapper "valgrind --tool=massif --massif-out-file=/tmp/massif.out"
    python3 massif_sites.py /tmp/massif.out
"""
import re,sys
lines=open(sys.argv[1]).read().split('\n')
snaps=[];cur=None
for i,l in enumerate(lines):
    if l.startswith('snapshot='): cur={'start':i}; snaps.append(cur)
    elif l.startswith('heap_tree=') and cur is not None: cur['tree']=l.split('=')[1]; cur['ti']=i
    elif l.startswith('mem_heap_B=') and cur is not None: cur['heap']=int(l.split('=')[1])
peak=[s for s in snaps if s.get('tree')=='peak'][0]
i=peak['ti']+1
stack=[]; out={}
pat=re.compile(r'^( *)n(\d+): (\d+) (.*)$')
own=re.compile(r'^0x[0-9A-Fa-f]+: ((?:<)?bgp_\S+?)(?:<.*)? \((\S+\.rs:\d+)\)$')
def isown(d): return own.match(d) is not None
while i<len(lines):
    m=pat.match(lines[i])
    if not m: break
    depth=len(m.group(1)); b=int(m.group(3)); desc=m.group(4)
    while stack and stack[-1][0]>=depth: stack.pop()
    stack.append((depth,desc))
    if isown(desc) and not any(isown(d) for _,d in stack[:-1]):
        mm=own.match(desc)
        # include the frame above (the allocating call) for context
        prev=stack[-2][1] if len(stack)>1 else ''
        pm=re.search(r'\((\S+\.rs:\d+)\)$',prev)
        key=f"{mm.group(1)} ({mm.group(2)})  <- {prev.split(': ',1)[-1][:60]}"
        out[key]=out.get(key,0)+b
    i+=1
print('peak heap %.1f MB'%(peak['heap']/1e6))
for k,v in sorted(out.items(),key=lambda x:-x[1])[:20]: print(f'{v/1e6:7.2f} MB  {k}')
