# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 42 · Semantic manipulation: editing the mask (Figs. 8, 9, 16)
#
# **Reproduces** supplement Section 3.3 and Figs. 8, 9 and 16. The generator draws each region where
# the mask puts it, so editing the mask edits the face: the style stays the one predicted from the LR
# image and the original mask, only the mask given to the generator changes,
#
# $$\hat x' = G\big(x_{LR},\; M',\; S(x_{LR}, M)\big), \qquad M' = \mathrm{edit}(M).$$
#
# The edits are label-map functions of `deepsee.explore.edits` (close the eyes, open the mouth by $p$
# pixels and close it in steps, remove the glasses, add hair, relabel one class as another). Edits that
# contradict the LR input (e.g. hair painted over visible skin) show how strongly the LR image constrains
# the output. With a 32x model in the pipeline the figures use it (the paper's Figs. 8-9 are 32x); its
# masks are the ground truth (the quick 32x model has no segmenter of its own).

# %% tags=["parameters"]
# Infrastructure (papermill sets these; the defaults run the quick profile by hand in JupyterLab)
profile = "quick"       # smoke | quick | paper (or a YAML file)
seed = 0
device = "auto"
data_root = ""          # "" -> $DEEPSEE_DATA, else data/
run_root = ""         # "" -> $DEEPSEE_RUNS, else runs/
out_dir = ""            # "" -> figures/ and results/ of the repository
interactive = True
overrides = []          # configuration overrides for every step, as `deepsee reproduce --set` takes them
# Science
open_mouth_px = 3       # Fig. 8: open the mouth by this many pixels (of the output size)
mouth_steps = 4         # Fig. 8: open it by mouth_steps px, then close it in this many steps
hair_px = [6, 12]       # Fig. 8: grow the hair into the background by these many pixels
fig16_px = [3, 5]       # Fig. 16: open a closed mouth by these many pixels
image_seed = 42         # draw of the faces (added to seed)

# %%
from IPython.display import display
from deepsee.data import pick_item, sample_items
from deepsee.explore import edits
from deepsee.paper.rows import edit_consistency, edit_row
from deepsee.pipeline import setup
from deepsee.viz import manipulation_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
model, test, factor = P.extreme_or_main()
items = sample_items(test, 3 * P.cfg.pipeline.figure_images, seed + image_seed)
# each row takes the first drawn face its edit applies to (glasses to remove, a mouth to close, ...)
a = pick_item(items, showing=["glasses", "eyes"])
b = pick_item(items, showing="lips", avoid=[a], fallback=1)
c = pick_item(items, avoid=[a, b], fallback=2)
print(P, f"\n{factor}x model, {len(items)} faces drawn")

# %% [markdown]
# ## Fig. 8: continuous manipulations
# Close the eyes and reopen them, open the mouth and remove the glasses; a mouth opened and closed in
# steps; hair added in two steps.

# %%
skip = P.face_only("Figs. 8, 9 and 16 (face-part edits)", "close_eyes", "open_mouth", "remove_glasses", "add_hair")
if not skip:
    m0 = a["mask"]
    rows = [edit_row(model, a, [m0, edits.close_eyes(m0), m0, edits.open_mouth(m0, open_mouth_px),
                                edits.remove(edits.open_mouth(m0, open_mouth_px), "eye_g")],
                     ["original", "close eyes", "reopen", "open mouth", "no glasses"], device=P.device, antialias=P.cfg.data.antialias)]
    seq = [b["mask"]] + edits.close_mouth(edits.open_mouth(b["mask"], mouth_steps), steps=mouth_steps)
    rows.append(edit_row(model, b, seq, ["original", "mouth open"] + [f"closing {k}" for k in range(1, len(seq) - 1)],
                         device=P.device, antialias=P.cfg.data.antialias))
    rows.append(edit_row(model, c, [c["mask"]] + [edits.add_hair(c["mask"], px) for px in hair_px],
                         ["original"] + [f"add hair ({px} px)" for px in hair_px], device=P.device,
                         antialias=P.cfg.data.antialias))
    lr_psnr_of = {"Fig. 8": rows}
    P.out.save_figure(manipulation_figure(rows, title=P.out.title(factor, "edited masks")), "fig08_manipulations", factor=factor);

# %% [markdown]
# ## Fig. 9: edits the LR image contradicts
# Mouth → lips, brows → skin, hair → skin, glasses removed.

# %%
if not skip:
    fig9_edits = [("mouth -> lips", lambda m: edits.relabel(m, "mouth", "u_lip")),
                  ("brows -> skin", lambda m: edits.remove(m, ["l_brow", "r_brow"], "skin")),
                  ("hair -> skin", lambda m: edits.relabel(m, "hair", "skin")),
                  ("remove glasses", lambda m: edits.remove(m, "eye_g"))]
    needs = ["mouth", "brows", "hair", "glasses"]     # what each edit needs on the face
    fig9_items = []
    for need in needs:
        fig9_items.append(pick_item(items, showing=need, avoid=fig9_items, fallback=len(fig9_items)))
    rows = [edit_row(model, it, [it["mask"], fn(it["mask"])], ["original", cap], device=P.device,
                     antialias=P.cfg.data.antialias) for it, (cap, fn) in zip(fig9_items, fig9_edits)]
    lr_psnr_of["Fig. 9"] = rows
    P.out.save_figure(manipulation_figure(rows, title=P.out.title(factor, "edits inconsistent with the LR input are visible")),
                  "fig09_manipulations", factor=factor);

# %% [markdown]
# ## Fig. 16: opening a closed mouth

# %%
if not skip:
    it = pick_item(items[::-1], showing="lips", absent="mouth")     # a face whose mouth is closed
    rows = [edit_row(model, it, [it["mask"]] + [edits.open_mouth(it["mask"], px) for px in fig16_px],
                     ["default solution"] + [f"open mouth ({px} px)" for px in fig16_px], device=P.device,
                     antialias=P.cfg.data.antialias)]
    lr_psnr_of["Fig. 16"] = rows
    P.out.save_figure(manipulation_figure(rows, title=P.out.title(factor, "mask edited to open the mouth")), "fig16_open_mouth", factor=factor);

# %% [markdown]
# ## LR consistency of the edits (beyond the paper; issue 33)
# Each output downscaled as the dataset's LR images are, against the LR input (LR-PSNR, dB). An edit that
# the LR image contradicts (eyes closed where it shows them open) cannot be consistent with it.

# %%
if not skip:
    ec = edit_consistency(lr_psnr_of)
    P.out.save_table(ec, "edit_consistency", path=P.out.table_path("edit_consistency", factor), factor=factor)
    ec

# %% [markdown]
# ## Mask control, measured (issue 31)
# The paper shows mask control only in pictures. A *judge* segmenter that reads HR images
# (`seg.input: hr`, `deepsee/profiles/showcase-judge.yaml`) measures it: its ceiling, mIoU(judge($x$), $M$) on
# the ground truth; each model's **mask fidelity**, mIoU(judge($G(y, M, S)$), $M$); and for each edit of
# Figs. 8, 9 and 16, the **edit IoU** within the classes the edit changed, between judge($G(y, M', S)$) and
# the edited mask $M'$, over the faces the edit applies to. Goals: fidelity at least 0.85 of the ceiling,
# every edit's IoU at least 0.5.

# %%
from deepsee.data import spread_items
from deepsee.eval.mask_control import FIGURE_EDITS, mask_control_table
judge = P.judge()
if judge is not None and not skip:
    mc_items = spread_items(test, P.cfg.eval.mask_control_images)
    mc = mask_control_table(judge, {f"independent {factor}x": model}, mc_items, FIGURE_EDITS, device=P.device)
    P.out.save_table(mc, "mask_control", path=P.out.table_path("mask_control", factor), factor=factor, images=len(mc_items),
                 judge=str(P.shipped("judge")))
    display(mc)
else:
    print(f"mask control skipped: no judge segmenter for the {P.profile} profile (the showcase ships one)")

# %% [markdown]
# ## This run

# %%
from IPython.display import Markdown
from deepsee.constants import region_pixels
summary = skip                                                       # why the figures were skipped, if they were
if not skip:
    r = rows[0]
    mouth = region_pixels(r["masks"][-1], "mouth")
    change = (r["images"][-1] - r["images"][0]).abs().mean(0) / 2     # [H, W], images in [0, 1]
    summary = (f"{factor}x model. Fig. 16, widest opening: the image changes by {float(change.mean()):.4f} on average, "
               f"{float(change[mouth].mean()) if mouth.any() else float('nan'):.4f} inside the new mouth region "
               f"({int(mouth.sum())} px). LR consistency of the edited outputs: mean "
               f"{ec[ec.masks == 'edited'].lr_psnr.mean():.1f} dB, worst {ec[ec.masks == 'edited'].lr_psnr_worst.min():.1f} dB "
               f"(unedited masks: {ec[ec.masks == 'unedited'].lr_psnr.mean():.1f} dB).")
Markdown(summary)
