package addons

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// rekognitionVersion is the Rekognition API version, kept as the appdata
// entries' version.
const rekognitionVersion = "2016-06-27"

// maxRekognitionBytes is Rekognition's limit for images sent inline.
const maxRekognitionBytes = 5 << 20

// Rekognition is aws_rekognition_detect_labels (or, with Moderation,
// aws_rekognition_detect_moderation_labels) on Amazon Rekognition.
type Rekognition struct {
	Client     *rekognition.Client
	Moderation bool
}

// NewRekognitionClient returns a Rekognition client for region (endpoint
// overrides the service's address) with the AWS SDK's credentials;
// ErrNotConfigured when there are none.
func NewRekognitionClient(ctx context.Context, region, endpoint string) (*rekognition.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("addons: AWS configuration: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if cfg.Credentials == nil {
		return nil, ErrNotConfigured
	}
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return nil, fmt.Errorf("%w: no AWS credentials: %v", ErrNotConfigured, err)
	}
	return rekognition.NewFromConfig(cfg, func(o *rekognition.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		// Throttled calls are retried by the job, with its backoff.
		o.RetryMaxAttempts = 1
	}), nil
}

// Check implements Addon: Rekognition takes no parameters.
func (r *Rekognition) Check(params json.RawMessage) error {
	if r == nil || r.Client == nil {
		return ErrNotConfigured
	}
	var v map[string]any
	return decodeParams(params, &v)
}

// Run implements Addon: the answer is kept in Rekognition's own shape.
func (r *Rekognition) Run(ctx context.Context, in *Input) (*Output, error) {
	body, err := in.Open(ctx)
	if err != nil {
		return nil, err
	}
	img, err := io.ReadAll(io.LimitReader(body, maxRekognitionBytes+1))
	body.Close()
	if err != nil {
		return nil, err
	}
	if len(img) > maxRekognitionBytes {
		return nil, Permanent(fmt.Errorf("addons: image larger than Rekognition's %d bytes", maxRekognitionBytes))
	}
	image := &types.Image{Bytes: img}
	if r.Moderation {
		out, err := r.Client.DetectModerationLabels(ctx, &rekognition.DetectModerationLabelsInput{Image: image})
		if err != nil {
			return nil, awsError(err)
		}
		labels := make([]map[string]any, 0, len(out.ModerationLabels))
		for _, l := range out.ModerationLabels {
			labels = append(labels, map[string]any{"Confidence": f32(l.Confidence), "Name": aws.ToString(l.Name), "ParentName": aws.ToString(l.ParentName)})
		}
		return &Output{Version: rekognitionVersion, Data: map[string]any{
			"ModerationModelVersion": aws.ToString(out.ModerationModelVersion), "ModerationLabels": labels}}, nil
	}
	out, err := r.Client.DetectLabels(ctx, &rekognition.DetectLabelsInput{Image: image})
	if err != nil {
		return nil, awsError(err)
	}
	labels := make([]map[string]any, 0, len(out.Labels))
	for _, l := range out.Labels {
		instances := make([]map[string]any, 0, len(l.Instances))
		for _, i := range l.Instances {
			inst := map[string]any{"Confidence": f32(i.Confidence)}
			if b := i.BoundingBox; b != nil {
				inst["BoundingBox"] = map[string]any{"Height": f32(b.Height), "Left": f32(b.Left), "Top": f32(b.Top), "Width": f32(b.Width)}
			}
			instances = append(instances, inst)
		}
		parents := make([]map[string]any, 0, len(l.Parents))
		for _, p := range l.Parents {
			parents = append(parents, map[string]any{"Name": aws.ToString(p.Name)})
		}
		labels = append(labels, map[string]any{"Confidence": f32(l.Confidence), "Instances": instances, "Name": aws.ToString(l.Name), "Parents": parents})
	}
	return &Output{Version: rekognitionVersion, Data: map[string]any{
		"LabelModelVersion": aws.ToString(out.LabelModelVersion), "Labels": labels}}, nil
}

// f32 renders a Rekognition number as it was sent (93.41, not 93.41000366).
func f32(p *float32) float64 {
	if p == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(*p), 'f', -1, 32), 64)
	return v
}

// awsError marks the failures retrying cannot fix (credentials, the image)
// permanent; throttling and server errors are retried.
func awsError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError", "ServiceUnavailableException":
			return fmt.Errorf("addons: rekognition: %w", err)
		}
		if ae.ErrorFault() == smithy.FaultClient {
			return Permanent(fmt.Errorf("addons: rekognition: %w", err))
		}
	}
	// Other 4xx answers (bad credentials, a refused image) stay so.
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500 && re.HTTPStatusCode() != 429 {
		return Permanent(fmt.Errorf("addons: rekognition: %w", err))
	}
	return fmt.Errorf("addons: rekognition: %w", err)
}
