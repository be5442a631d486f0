//! DICOM C-STORE SCP (PS3.4 B, PS3.7 9.1.1) and Verification SCP (C-ECHO): associations accepted
//! for every standard storage SOP class in any transfer syntax the DICOM registry can read;
//! each received data set is streamed, PDU by PDU, into a Part-10 file that is then moved into the
//! instance store. A study is complete after a quiet period without new instances: its Study
//! Instance UID is then sent once on the `StudyComplete` channel.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::association::server::ServerAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::instance_store::InstanceStore;

/// Largest PDU this SCP accepts (fewer round trips than the 16 KiB default).
const MAX_PDU_LENGTH: u32 = 256 * 1024;
/// DIMSE command field values (PS3.7 E.1).
const C_STORE_RQ: u16 = 0x0001;
const C_STORE_RSP: u16 = 0x8001;
const C_ECHO_RQ: u16 = 0x0030;
const C_ECHO_RSP: u16 = 0x8030;
/// Command Data Set Type: no data set follows.
const NO_DATA_SET: u16 = 0x0101;
/// DIMSE statuses (PS3.4 B.2.3, PS3.7 C).
const STATUS_SUCCESS: u16 = 0x0000;
const STATUS_OUT_OF_RESOURCES: u16 = 0xA700;
const STATUS_CANNOT_UNDERSTAND: u16 = 0xC000;
const STATUS_UNRECOGNIZED_OPERATION: u16 = 0x0211;

/// Why the SCP could not start or an association failed.
#[derive(Debug, thiserror::Error)]
pub enum ScpError {
    #[error("C-STORE SCP I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("DICOM upper layer: {0}")]
    Association(#[from] dicom_ul::association::Error),
    #[error("DIMSE command cannot be read: {0}")]
    Command(String),
}

/// What the SCP needs: its AE title, the store, and where completed studies are announced.
#[derive(Clone)]
pub struct StoreScp {
    pub ae_title: String,
    pub store: Arc<InstanceStore>,
    /// Folder of data sets being received (inside the store's file system, so the final move is
    /// cheap).
    pub incoming: PathBuf,
    received: mpsc::UnboundedSender<String>,
}

/// Starts the quiet-period tracker and returns the SCP and the `StudyComplete` channel (Study
/// Instance UIDs, each sent once per burst of C-STOREs).
pub fn new(
    ae_title: String,
    store: Arc<InstanceStore>,
    incoming: PathBuf,
    quiet_period: Duration,
    shutdown: CancellationToken,
) -> (StoreScp, mpsc::UnboundedReceiver<String>) {
    let (received, received_rx) = mpsc::unbounded_channel();
    let (complete, complete_rx) = mpsc::unbounded_channel();
    tokio::spawn(track_quiet_period(
        received_rx,
        complete,
        quiet_period,
        shutdown,
    ));
    (
        StoreScp {
            ae_title,
            store,
            incoming,
            received,
        },
        complete_rx,
    )
}

/// Each study seen in `received` is sent to `complete` once `quiet_period` has passed without a
/// new instance of it.
async fn track_quiet_period(
    mut received: mpsc::UnboundedReceiver<String>,
    complete: mpsc::UnboundedSender<String>,
    quiet_period: Duration,
    shutdown: CancellationToken,
) {
    let mut last_seen: HashMap<String, Instant> = HashMap::new();
    let tick = (quiet_period / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(tick);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            study = received.recv() => match study {
                Some(study) => { last_seen.insert(study, Instant::now()); }
                None => return,
            },
            _ = ticker.tick() => {
                let now = Instant::now();
                let quiet: Vec<String> = last_seen
                    .iter()
                    .filter(|(_, seen)| now.duration_since(**seen) >= quiet_period)
                    .map(|(study, _)| study.clone())
                    .collect();
                for study in quiet {
                    last_seen.remove(&study);
                    tracing::info!(study = %study, "study complete (quiet period over)");
                    if complete.send(study).is_err() {
                        tracing::debug!("nobody listens for StudyComplete");
                    }
                }
            }
        }
    }
}

/// Accepts associations on `listener` until `shutdown`.
pub async fn serve(scp: StoreScp, listener: TcpListener, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                let scp = scp.clone();
                let span = tracing::info_span!("C-STORE", %peer);
                tokio::spawn(
                    async move {
                        if let Err(error) = scp.association(socket).await {
                            tracing::warn!(%error, "C-STORE association ended in error");
                        }
                    }
                    .instrument(span),
                );
            }
            Err(error) => tracing::warn!(%error, "C-STORE SCP cannot accept a connection"),
        }
    }
}

/// A DIMSE command set as received.
struct Command {
    field: u16,
    message_id: u16,
    sop_class: String,
    sop_instance: String,
    has_data_set: bool,
}

/// A data set being received into a Part-10 file.
struct Receiving {
    command: Command,
    path: PathBuf,
    file: tokio::fs::File,
}

impl StoreScp {
    async fn association(&self, socket: TcpStream) -> Result<(), ScpError> {
        // Nagle's algorithm costs 40-90 ms per DIMSE message.
        socket.set_nodelay(true)?;
        let mut options = ServerAssociationOptions::new()
            .accept_called_ae_title()
            .ae_title(self.ae_title.as_str())
            .max_pdu_length(MAX_PDU_LENGTH)
            .with_abstract_syntax(uids::VERIFICATION);
        for sop_class in STORAGE_SOP_CLASSES {
            options = options.with_abstract_syntax(*sop_class);
        }
        let mut association = options.establish_async(socket).await?;
        let contexts: HashMap<u8, (String, String)> = association
            .presentation_contexts()
            .iter()
            .map(|pc| {
                (
                    pc.id,
                    (pc.abstract_syntax.clone(), pc.transfer_syntax.clone()),
                )
            })
            .collect();
        let mut command_bytes: Vec<u8> = Vec::new();
        let mut receiving: Option<Receiving> = None;
        loop {
            let pdu = association.receive().await?;
            let values = match pdu {
                Pdu::PData { data } => data,
                Pdu::ReleaseRQ => {
                    association.send(&Pdu::ReleaseRP).await?;
                    break;
                }
                Pdu::AbortRQ { .. } => break,
                other => {
                    tracing::warn!(pdu = ?other, "unexpected PDU; aborting the association");
                    association.abort().await?;
                    break;
                }
            };
            for value in values {
                let context_id = value.presentation_context_id;
                let Some((_, transfer_syntax)) = contexts.get(&context_id) else {
                    return Err(ScpError::Command(format!(
                        "P-DATA on unknown presentation context {context_id}"
                    )));
                };
                match value.value_type {
                    PDataValueType::Command => {
                        command_bytes.extend_from_slice(&value.data);
                        if !value.is_last {
                            continue;
                        }
                        let command = read_command(&std::mem::take(&mut command_bytes))?;
                        match command.field {
                            C_ECHO_RQ => {
                                let answer = response(C_ECHO_RSP, &command, STATUS_SUCCESS)?;
                                association.send(&answer_pdu(context_id, answer)).await?;
                            }
                            C_STORE_RQ if command.has_data_set => {
                                receiving = Some(self.begin(command, transfer_syntax).await?);
                            }
                            _ => {
                                let field = command.field | 0x8000;
                                let answer =
                                    response(field, &command, STATUS_UNRECOGNIZED_OPERATION)?;
                                association.send(&answer_pdu(context_id, answer)).await?;
                            }
                        }
                    }
                    PDataValueType::Data => {
                        let Some(current) = receiving.as_mut() else {
                            return Err(ScpError::Command(
                                "data set without a C-STORE-RQ".to_owned(),
                            ));
                        };
                        current.file.write_all(&value.data).await?;
                        if value.is_last
                            && let Some(done) = receiving.take()
                        {
                            let status = self.finish(done.path, done.file).await;
                            let answer = response(C_STORE_RSP, &done.command, status)?;
                            association.send(&answer_pdu(context_id, answer)).await?;
                        }
                    }
                }
            }
        }
        if let Some(abandoned) = receiving {
            let _ = tokio::fs::remove_file(&abandoned.path).await;
        }
        Ok(())
    }

    /// Opens the Part-10 file of an incoming data set and writes its preamble and meta group.
    async fn begin(&self, command: Command, transfer_syntax: &str) -> Result<Receiving, ScpError> {
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax(transfer_syntax)
            .media_storage_sop_class_uid(command.sop_class.as_str())
            .media_storage_sop_instance_uid(command.sop_instance.as_str())
            .build()
            .map_err(|e| ScpError::Command(e.to_string()))?;
        let mut head = vec![0u8; 128];
        head.extend_from_slice(b"DICM");
        meta.write(&mut head)
            .map_err(|e| ScpError::Command(e.to_string()))?;
        tokio::fs::create_dir_all(&self.incoming).await?;
        let path = self
            .incoming
            .join(format!("{}.dcm", uuid::Uuid::new_v4().simple()));
        let mut file = tokio::fs::File::create(&path).await?;
        file.write_all(&head).await?;
        Ok(Receiving {
            command,
            path,
            file,
        })
    }

    /// Moves a received file into the instance store under its study and series, and reports
    /// the study to the quiet-period tracker; the DIMSE status of the C-STORE.
    async fn finish(&self, path: PathBuf, mut file: tokio::fs::File) -> u16 {
        let status = match self.store_file(&path, &mut file).await {
            Ok(study) => {
                let _ = self.received.send(study);
                STATUS_SUCCESS
            }
            Err((status, error)) => {
                tracing::warn!(%error, "received instance not stored");
                status
            }
        };
        let _ = tokio::fs::remove_file(&path).await;
        status
    }

    async fn store_file(
        &self,
        path: &Path,
        file: &mut tokio::fs::File,
    ) -> Result<String, (u16, String)> {
        let resources = |e: &dyn std::fmt::Display| (STATUS_OUT_OF_RESOURCES, e.to_string());
        file.flush().await.map_err(|e| resources(&e))?;
        let header_path = path.to_path_buf();
        let (study, series, sop) = tokio::task::spawn_blocking(move || instance_uids(&header_path))
            .await
            .map_err(|e| resources(&e))?
            .map_err(|e| (STATUS_CANNOT_UNDERSTAND, e))?;
        let reader = tokio::fs::File::open(path)
            .await
            .map_err(|e| resources(&e))?;
        self.store
            .put(&study, &series, &sop, reader)
            .await
            .map_err(|e| resources(&e))?;
        Ok(study)
    }
}

/// (Study, Series, SOP Instance UID) of a Part-10 file, read up to the pixel data.
fn instance_uids(path: &Path) -> Result<(String, String, String), String> {
    let object = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| format!("received data set cannot be read: {e}"))?;
    let text = |tag, name: &str| {
        object
            .element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("received data set has no {name}"))
    };
    Ok((
        text(tags::STUDY_INSTANCE_UID, "Study Instance UID")?,
        text(tags::SERIES_INSTANCE_UID, "Series Instance UID")?,
        text(tags::SOP_INSTANCE_UID, "SOP Instance UID")?,
    ))
}

fn read_command(bytes: &[u8]) -> Result<Command, ScpError> {
    let object = InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| ScpError::Command(e.to_string()))?;
    let number = |tag| {
        object
            .element(tag)
            .ok()
            .and_then(|e| e.to_int::<u16>().ok())
    };
    let text = |tag| {
        object
            .element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
            .unwrap_or_default()
    };
    Ok(Command {
        field: number(tags::COMMAND_FIELD)
            .ok_or_else(|| ScpError::Command("no Command Field".to_owned()))?,
        message_id: number(tags::MESSAGE_ID).unwrap_or_default(),
        sop_class: text(tags::AFFECTED_SOP_CLASS_UID),
        sop_instance: text(tags::AFFECTED_SOP_INSTANCE_UID),
        has_data_set: number(tags::COMMAND_DATA_SET_TYPE).is_some_and(|t| t != NO_DATA_SET),
    })
}

/// The response command set (implicit VR little endian, with its group length).
fn response(field: u16, request: &Command, status: u16) -> Result<Vec<u8>, ScpError> {
    let mut elements = vec![
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(request.sop_class.as_str()),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, PrimitiveValue::from(field)),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            PrimitiveValue::from(request.message_id),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            PrimitiveValue::from(NO_DATA_SET),
        ),
        DataElement::new(tags::STATUS, VR::US, PrimitiveValue::from(status)),
    ];
    if !request.sop_instance.is_empty() {
        elements.push(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(request.sop_instance.as_str()),
        ));
    }
    let encode = |object: &InMemDicomObject| {
        let mut bytes = Vec::new();
        object
            .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
            .map_err(|e| ScpError::Command(e.to_string()))?;
        Ok::<Vec<u8>, ScpError>(bytes)
    };
    let body = encode(&InMemDicomObject::from_element_iter(elements.clone()))?;
    let length = u32::try_from(body.len()).map_err(|e| ScpError::Command(e.to_string()))?;
    elements.insert(
        0,
        DataElement::new(
            tags::COMMAND_GROUP_LENGTH,
            VR::UL,
            PrimitiveValue::from(length),
        ),
    );
    encode(&InMemDicomObject::from_element_iter(elements))
}

fn answer_pdu(presentation_context_id: u8, command: Vec<u8>) -> Pdu {
    Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id,
            value_type: PDataValueType::Command,
            is_last: true,
            data: command,
        }],
    }
}

/// Every standard (not retired) storage SOP class of the DICOM dictionary.
const STORAGE_SOP_CLASSES: &[&str] = &[
    uids::COMPUTED_RADIOGRAPHY_IMAGE_STORAGE,
    uids::ENCAPSULATED_PDF_STORAGE,
    uids::ENCAPSULATED_CDA_STORAGE,
    uids::ENCAPSULATED_STL_STORAGE,
    uids::ENCAPSULATED_OBJ_STORAGE,
    uids::ENCAPSULATED_MTL_STORAGE,
    uids::GRAYSCALE_SOFTCOPY_PRESENTATION_STATE_STORAGE,
    uids::SEGMENTED_VOLUME_RENDERING_VOLUMETRIC_PRESENTATION_STATE_STORAGE,
    uids::MULTIPLE_VOLUME_RENDERING_VOLUMETRIC_PRESENTATION_STATE_STORAGE,
    uids::VARIABLE_MODALITY_LUT_SOFTCOPY_PRESENTATION_STATE_STORAGE,
    uids::COLOR_SOFTCOPY_PRESENTATION_STATE_STORAGE,
    uids::PSEUDO_COLOR_SOFTCOPY_PRESENTATION_STATE_STORAGE,
    uids::BLENDING_SOFTCOPY_PRESENTATION_STATE_STORAGE,
    uids::XAXRF_GRAYSCALE_SOFTCOPY_PRESENTATION_STATE_STORAGE,
    uids::GRAYSCALE_PLANAR_MPR_VOLUMETRIC_PRESENTATION_STATE_STORAGE,
    uids::COMPOSITING_PLANAR_MPR_VOLUMETRIC_PRESENTATION_STATE_STORAGE,
    uids::ADVANCED_BLENDING_PRESENTATION_STATE_STORAGE,
    uids::VOLUME_RENDERING_VOLUMETRIC_PRESENTATION_STATE_STORAGE,
    uids::X_RAY_ANGIOGRAPHIC_IMAGE_STORAGE,
    uids::ENHANCED_XA_IMAGE_STORAGE,
    uids::X_RAY_RADIOFLUOROSCOPIC_IMAGE_STORAGE,
    uids::ENHANCED_XRF_IMAGE_STORAGE,
    uids::POSITRON_EMISSION_TOMOGRAPHY_IMAGE_STORAGE,
    uids::LEGACY_CONVERTED_ENHANCED_PET_IMAGE_STORAGE,
    uids::X_RAY3_D_ANGIOGRAPHIC_IMAGE_STORAGE,
    uids::X_RAY3_D_CRANIOFACIAL_IMAGE_STORAGE,
    uids::BREAST_TOMOSYNTHESIS_IMAGE_STORAGE,
    uids::ENHANCED_PET_IMAGE_STORAGE,
    uids::BASIC_STRUCTURED_DISPLAY_STORAGE,
    uids::CT_IMAGE_STORAGE,
    uids::ENHANCED_CT_IMAGE_STORAGE,
    uids::LEGACY_CONVERTED_ENHANCED_CT_IMAGE_STORAGE,
    uids::NUCLEAR_MEDICINE_IMAGE_STORAGE,
    uids::CT_DEFINED_PROCEDURE_PROTOCOL_STORAGE,
    uids::CT_PERFORMED_PROCEDURE_PROTOCOL_STORAGE,
    uids::PROTOCOL_APPROVAL_STORAGE,
    uids::XA_DEFINED_PROCEDURE_PROTOCOL_STORAGE,
    uids::XA_PERFORMED_PROCEDURE_PROTOCOL_STORAGE,
    uids::INVENTORY_STORAGE,
    uids::ULTRASOUND_MULTI_FRAME_IMAGE_STORAGE,
    uids::PARAMETRIC_MAP_STORAGE,
    uids::MR_IMAGE_STORAGE,
    uids::ENHANCED_MR_IMAGE_STORAGE,
    uids::MR_SPECTROSCOPY_STORAGE,
    uids::ENHANCED_MR_COLOR_IMAGE_STORAGE,
    uids::LEGACY_CONVERTED_ENHANCED_MR_IMAGE_STORAGE,
    uids::RT_IMAGE_STORAGE,
    uids::RT_PHYSICIAN_INTENT_STORAGE,
    uids::RT_SEGMENT_ANNOTATION_STORAGE,
    uids::RT_RADIATION_SET_STORAGE,
    uids::C_ARM_PHOTON_ELECTRON_RADIATION_STORAGE,
    uids::TOMOTHERAPEUTIC_RADIATION_STORAGE,
    uids::ROBOTIC_ARM_RADIATION_STORAGE,
    uids::RT_RADIATION_RECORD_SET_STORAGE,
    uids::RT_RADIATION_SALVAGE_RECORD_STORAGE,
    uids::TOMOTHERAPEUTIC_RADIATION_RECORD_STORAGE,
    uids::C_ARM_PHOTON_ELECTRON_RADIATION_RECORD_STORAGE,
    uids::RT_DOSE_STORAGE,
    uids::ROBOTIC_RADIATION_RECORD_STORAGE,
    uids::RT_RADIATION_SET_DELIVERY_INSTRUCTION_STORAGE,
    uids::RT_TREATMENT_PREPARATION_STORAGE,
    uids::ENHANCED_RT_IMAGE_STORAGE,
    uids::ENHANCED_CONTINUOUS_RT_IMAGE_STORAGE,
    uids::RT_PATIENT_POSITION_ACQUISITION_INSTRUCTION_STORAGE,
    uids::RT_STRUCTURE_SET_STORAGE,
    uids::RT_BEAMS_TREATMENT_RECORD_STORAGE,
    uids::RT_PLAN_STORAGE,
    uids::RT_BRACHY_TREATMENT_RECORD_STORAGE,
    uids::RT_TREATMENT_SUMMARY_RECORD_STORAGE,
    uids::RT_ION_PLAN_STORAGE,
    uids::RT_ION_BEAMS_TREATMENT_RECORD_STORAGE,
    uids::DICOSCT_IMAGE_STORAGE,
    uids::DICOS_THREAT_DETECTION_REPORT_STORAGE,
    uids::DICOS2DAIT_STORAGE,
    uids::DICOS3DAIT_STORAGE,
    uids::DICOS_QUADRUPOLE_RESONANCE_STORAGE,
    uids::ULTRASOUND_IMAGE_STORAGE,
    uids::ENHANCED_US_VOLUME_STORAGE,
    uids::PHOTOACOUSTIC_IMAGE_STORAGE,
    uids::EDDY_CURRENT_IMAGE_STORAGE,
    uids::EDDY_CURRENT_MULTI_FRAME_IMAGE_STORAGE,
    uids::THERMOGRAPHY_IMAGE_STORAGE,
    uids::THERMOGRAPHY_MULTI_FRAME_IMAGE_STORAGE,
    uids::ULTRASOUND_WAVEFORM_STORAGE,
    uids::RAW_DATA_STORAGE,
    uids::SPATIAL_REGISTRATION_STORAGE,
    uids::SPATIAL_FIDUCIALS_STORAGE,
    uids::DEFORMABLE_SPATIAL_REGISTRATION_STORAGE,
    uids::SEGMENTATION_STORAGE,
    uids::SURFACE_SEGMENTATION_STORAGE,
    uids::TRACTOGRAPHY_RESULTS_STORAGE,
    uids::LABEL_MAP_SEGMENTATION_STORAGE,
    uids::HEIGHT_MAP_SEGMENTATION_STORAGE,
    uids::REAL_WORLD_VALUE_MAPPING_STORAGE,
    uids::SURFACE_SCAN_MESH_STORAGE,
    uids::SURFACE_SCAN_POINT_CLOUD_STORAGE,
    uids::SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_SINGLE_BIT_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_GRAYSCALE_BYTE_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_GRAYSCALE_WORD_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::MULTI_FRAME_TRUE_COLOR_SECONDARY_CAPTURE_IMAGE_STORAGE,
    uids::VL_ENDOSCOPIC_IMAGE_STORAGE,
    uids::VIDEO_ENDOSCOPIC_IMAGE_STORAGE,
    uids::VL_MICROSCOPIC_IMAGE_STORAGE,
    uids::VIDEO_MICROSCOPIC_IMAGE_STORAGE,
    uids::VL_SLIDE_COORDINATES_MICROSCOPIC_IMAGE_STORAGE,
    uids::VL_PHOTOGRAPHIC_IMAGE_STORAGE,
    uids::VIDEO_PHOTOGRAPHIC_IMAGE_STORAGE,
    uids::OPHTHALMIC_PHOTOGRAPHY8_BIT_IMAGE_STORAGE,
    uids::OPHTHALMIC_PHOTOGRAPHY16_BIT_IMAGE_STORAGE,
    uids::STEREOMETRIC_RELATIONSHIP_STORAGE,
    uids::OPHTHALMIC_TOMOGRAPHY_IMAGE_STORAGE,
    uids::WIDE_FIELD_OPHTHALMIC_PHOTOGRAPHY_STEREOGRAPHIC_PROJECTION_IMAGE_STORAGE,
    uids::WIDE_FIELD_OPHTHALMIC_PHOTOGRAPHY3_D_COORDINATES_IMAGE_STORAGE,
    uids::OPHTHALMIC_OPTICAL_COHERENCE_TOMOGRAPHY_EN_FACE_IMAGE_STORAGE,
    uids::OPHTHALMIC_OPTICAL_COHERENCE_TOMOGRAPHY_BSCAN_VOLUME_ANALYSIS_STORAGE,
    uids::VL_WHOLE_SLIDE_MICROSCOPY_IMAGE_STORAGE,
    uids::DERMOSCOPIC_PHOTOGRAPHY_IMAGE_STORAGE,
    uids::CONFOCAL_MICROSCOPY_IMAGE_STORAGE,
    uids::CONFOCAL_MICROSCOPY_TILED_PYRAMIDAL_IMAGE_STORAGE,
    uids::LENSOMETRY_MEASUREMENTS_STORAGE,
    uids::AUTOREFRACTION_MEASUREMENTS_STORAGE,
    uids::KERATOMETRY_MEASUREMENTS_STORAGE,
    uids::SUBJECTIVE_REFRACTION_MEASUREMENTS_STORAGE,
    uids::VISUAL_ACUITY_MEASUREMENTS_STORAGE,
    uids::SPECTACLE_PRESCRIPTION_REPORT_STORAGE,
    uids::OPHTHALMIC_AXIAL_MEASUREMENTS_STORAGE,
    uids::INTRAOCULAR_LENS_CALCULATIONS_STORAGE,
    uids::MACULAR_GRID_THICKNESS_AND_VOLUME_REPORT_STORAGE,
    uids::OPHTHALMIC_VISUAL_FIELD_STATIC_PERIMETRY_MEASUREMENTS_STORAGE,
    uids::OPHTHALMIC_THICKNESS_MAP_STORAGE,
    uids::CORNEAL_TOPOGRAPHY_MAP_STORAGE,
    uids::BASIC_TEXT_SR_STORAGE,
    uids::ENHANCED_SR_STORAGE,
    uids::COMPREHENSIVE_SR_STORAGE,
    uids::COMPREHENSIVE3_DSR_STORAGE,
    uids::EXTENSIBLE_SR_STORAGE,
    uids::PROCEDURE_LOG_STORAGE,
    uids::MAMMOGRAPHY_CADSR_STORAGE,
    uids::KEY_OBJECT_SELECTION_DOCUMENT_STORAGE,
    uids::CHEST_CADSR_STORAGE,
    uids::X_RAY_RADIATION_DOSE_SR_STORAGE,
    uids::RADIOPHARMACEUTICAL_RADIATION_DOSE_SR_STORAGE,
    uids::COLON_CADSR_STORAGE,
    uids::IMPLANTATION_PLAN_SR_STORAGE,
    uids::ACQUISITION_CONTEXT_SR_STORAGE,
    uids::SIMPLIFIED_ADULT_ECHO_SR_STORAGE,
    uids::PATIENT_RADIATION_DOSE_SR_STORAGE,
    uids::PLANNED_IMAGING_AGENT_ADMINISTRATION_SR_STORAGE,
    uids::PERFORMED_IMAGING_AGENT_ADMINISTRATION_SR_STORAGE,
    uids::ENHANCED_X_RAY_RADIATION_DOSE_SR_STORAGE,
    uids::WAVEFORM_ANNOTATION_SR_STORAGE,
    uids::TWELVE_LEAD_ECG_WAVEFORM_STORAGE,
    uids::GENERAL_ECG_WAVEFORM_STORAGE,
    uids::AMBULATORY_ECG_WAVEFORM_STORAGE,
    uids::GENERAL32BIT_ECG_WAVEFORM_STORAGE,
    uids::WAVEFORM_PRESENTATION_STATE_STORAGE,
    uids::WAVEFORM_ACQUISITION_PRESENTATION_STATE_STORAGE,
    uids::HEMODYNAMIC_WAVEFORM_STORAGE,
    uids::CARDIAC_ELECTROPHYSIOLOGY_WAVEFORM_STORAGE,
    uids::BASIC_VOICE_AUDIO_WAVEFORM_STORAGE,
    uids::GENERAL_AUDIO_WAVEFORM_STORAGE,
    uids::ARTERIAL_PULSE_WAVEFORM_STORAGE,
    uids::RESPIRATORY_WAVEFORM_STORAGE,
    uids::MULTICHANNEL_RESPIRATORY_WAVEFORM_STORAGE,
    uids::ROUTINE_SCALP_ELECTROENCEPHALOGRAM_WAVEFORM_STORAGE,
    uids::ELECTROMYOGRAM_WAVEFORM_STORAGE,
    uids::ELECTROOCULOGRAM_WAVEFORM_STORAGE,
    uids::SLEEP_ELECTROENCEPHALOGRAM_WAVEFORM_STORAGE,
    uids::BODY_POSITION_WAVEFORM_STORAGE,
    uids::CONTENT_ASSESSMENT_RESULTS_STORAGE,
    uids::MICROSCOPY_BULK_SIMPLE_ANNOTATIONS_STORAGE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn study_complete_fires_once_after_the_quiet_period() {
        let (received, received_rx) = mpsc::unbounded_channel();
        let (complete, mut complete_rx) = mpsc::unbounded_channel();
        let quiet = Duration::from_millis(200);
        let shutdown = CancellationToken::new();
        tokio::spawn(track_quiet_period(
            received_rx,
            complete,
            quiet,
            shutdown.clone(),
        ));
        for _ in 0..3 {
            received.send("1.2.3".to_owned()).unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(complete_rx.try_recv().is_err(), "fired during the burst");
        let study = tokio::time::timeout(Duration::from_secs(2), complete_rx.recv())
            .await
            .unwrap();
        assert_eq!(study.as_deref(), Some("1.2.3"));
        tokio::time::sleep(quiet * 2).await;
        assert!(complete_rx.try_recv().is_err(), "fired twice");
        shutdown.cancel();
    }

    #[test]
    fn c_store_response_carries_status_and_group_length() {
        let request = Command {
            field: C_STORE_RQ,
            message_id: 7,
            sop_class: uids::CT_IMAGE_STORAGE.to_owned(),
            sop_instance: "1.2.3.4".to_owned(),
            has_data_set: true,
        };
        let bytes = response(C_STORE_RSP, &request, STATUS_SUCCESS).unwrap();
        let object =
            InMemDicomObject::read_dataset_with_ts(&bytes[..], &IMPLICIT_VR_LITTLE_ENDIAN.erased())
                .unwrap();
        let group_length = object
            .element(tags::COMMAND_GROUP_LENGTH)
            .unwrap()
            .to_int::<u32>()
            .unwrap();
        assert_eq!(group_length as usize, bytes.len() - 12);
        assert_eq!(
            object
                .element(tags::STATUS)
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            0
        );
        assert_eq!(
            object
                .element(tags::MESSAGE_ID_BEING_RESPONDED_TO)
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            7
        );
    }
}
